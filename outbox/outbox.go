package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"mailfs/remote"
)

// ErrInvalid marks a message that cannot be sent as written: no recipients,
// an unparseable header or address, no account to send it with. The fs layer
// maps it to EINVAL. The error text says why, in one line.
var ErrInvalid = errors.New("invalid message")

// ErrBusy is returned by Remove and Retry while the message is being sent.
// The fs layer maps it to EBUSY.
var ErrBusy = errors.New("message is being sent")

// ErrBadName is returned by Create for a name that cannot be a file in
// outbox/ (empty, ".", "..", "failed", containing '/' or NUL, too long).
var ErrBadName = errors.New("bad outbox file name")

// Errors for names that are neither queued nor failed wrap fs.ErrNotExist.

// Account is a mail account that can send.
type Account struct {
	// Name identifies the account (the directory name under the mount).
	Name string
	// Addresses are the From: addresses routed to this account, compared
	// case-insensitively. The first one fills a missing From: when the
	// account is the default.
	Addresses []string
	// Default makes this account take messages without From: and messages
	// whose From: matches no account. At most one account is default.
	Default bool
	// Sender transmits the account's messages. Required.
	Sender remote.Sender
	// SentCopy, when not nil, stores a copy of a sent message (size bytes
	// read from msg) in the account's Sent folder, flagged \Seen; an error
	// wrapping remote.ErrPermanent stops the retries. nil means the account
	// keeps no Sent copy.
	SentCopy func(ctx context.Context, msg io.Reader, size int64) error
}

// Options configure an Outbox. Zero fields take the documented defaults.
type Options struct {
	// Dir is the spool root, created 0700 if missing. Required.
	Dir string
	// Accounts are the accounts that can send. Names must be unique.
	Accounts []Account
	// Logger receives the outbox's log lines; nil discards them.
	Logger *slog.Logger
	// AllowUnknownFrom sends a message whose From: matches no account's
	// addresses through the default account; otherwise it is refused
	// (ErrInvalid): a typo or someone else's address, sent in your name.
	AllowUnknownFrom bool
	// AllowReceived sends a message that has a Received: header; otherwise
	// it is refused (ErrInvalid): a message a server delivered, copied
	// back in, would go to its recipients again.
	AllowReceived bool
	// SendDelay is how long a message written into outbox/ is held before
	// it is taken for sending: until then it is an ordinary file that a
	// rewrite replaces and rm cancels, and every rewrite or rename starts
	// the delay again. A message an editor has open (its swap or lock file
	// is in outbox/) stays held until the editor closes it. Zero takes a
	// message at its close.
	SendDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinBackoff is the delay before the first retry after a temporary
	// failure; it doubles with every failure up to MaxBackoff. Defaults 30s
	// and 1h. A little jitter (up to a tenth) is added.
	MinBackoff, MaxBackoff time.Duration
	// MaxHeaderBytes bounds the header block of a message; a message whose
	// header is longer is invalid. Default 1 MiB.
	MaxHeaderBytes int
	// MaxCopyAttempts bounds the attempts at storing the Sent copy of a
	// sent message; after that the copy is given up with an error log line
	// (the message itself was delivered). Default 10.
	MaxCopyAttempts int
}

// ProgressSender is a remote.Sender that may deliver a message in several
// transactions (an SMTP server that limits the recipients of one answers
// 452 to the rest) and reports each delivered one. An account whose Sender
// implements it (remote/smtp's does) has its progress recorded in the
// spool: each report is written to state.json, fsync'ed, before
// SendProgress goes on, so a failure or a crash afterwards sends the
// message only to the recipients not reported.
type ProgressSender interface {
	remote.Sender
	// SendProgress is Send, calling delivered with the recipients of each
	// transaction the server accepted, before the next transaction
	// begins; the error, if any, concerns the recipients not reported.
	SendProgress(ctx context.Context, env remote.Envelope, msg io.Reader, delivered func(to []string)) error
}

// Outbox is an open spool: it takes drafts, keeps the queue and sends it
// (see Run). It is safe for concurrent use.
type Outbox struct {
	dir             string
	log             *slog.Logger
	now             func() time.Time
	minBackoff      time.Duration
	maxBackoff      time.Duration
	maxHeader       int
	maxCopyAttempts int
	accounts        []*account // fixed after Open
	byAccount       map[string]*account
	def             *account // the default account or nil
	// allowUnknown and allowReceived are Options.AllowUnknownFrom and
	// Options.AllowReceived.
	allowUnknown, allowReceived bool
	lock                        *os.File // holds the flock on DIR/lock until Close
	sendDelay                   time.Duration
	holdKick                    chan struct{} // buffered 1: wakes holdLoop

	// filesMu serializes the changes of files/ that decide what is a held
	// message: commits into it, renames, removals, and takes out of it.
	filesMu sync.Mutex

	// mu guards items, byName, held, seq and every *item's fields.
	mu     sync.Mutex
	items  map[string]*item // by id: queued, sending, sent and failed
	byName map[string]*item // by display name: queued, sending and failed
	// held maps each held message in outbox/ (files/NAME) to when its
	// send delay ends.
	held   map[string]time.Time
	seq    uint64 // last commit sequence number handed out
	closed bool
}

// account is an Account with its wake-up channel.
type account struct {
	Account
	kick chan struct{} // buffered 1: wakes the account's worker
}

// State names, as stored in state.json and shown in Entry.State.
const (
	StateHeld    = "held"    // an ordinary file in outbox/, sent after the delay
	StateScratch = "scratch" // an editor's side file in outbox/, never sent
	StateDraft   = "draft"   // a file in outbox/drafts/, never sent
	StateQueued  = "queued"  // waiting for its next attempt
	StateSending = "sending" // being handed to the Sender right now
	StateSent    = "sent"    // delivered; the Sent copy is pending
	StateFailed  = "failed"  // in outbox/failed/
)

// Entry describes a file of the outbox, for listings and extended
// attributes: a queued or failed message, or a file of an Area (held
// message, side file, draft).
type Entry struct {
	// Name is the file name shown in outbox/, outbox/failed/ or
	// outbox/drafts/.
	Name string
	// Mode is the permission bits of a file of an Area.
	Mode os.FileMode
	// HeldBy is the editor side file (a swap or lock file) that keeps a
	// held message from being sent, or "".
	HeldBy string
	// Size is the byte size of the stored message (after preparation, for
	// a queued one: Date, Message-ID added, Bcc removed).
	Size int64
	// ModTime is when the message was committed.
	ModTime time.Time
	// State is StateHeld, StateScratch or StateDraft for a file of an
	// Area, else StateQueued, StateSending or StateFailed.
	State string
	// Account is the name of the account sending it ("" for an invalid
	// message).
	Account string
	// From and Recipients are the envelope (empty for an invalid message).
	From       string
	Recipients []string
	// Delivered are the recipients that already have the message: the
	// server took it in several transactions and the others are still to
	// be done. They are not sent it again.
	Delivered []string
	// Attempts counts the send attempts so far.
	Attempts int
	// NextAttempt is when a queued message is due, or when a held one is
	// taken for sending.
	NextAttempt time.Time
	// LastError is the last temporary failure of a queued message, one line.
	LastError string
	// Error is why a failed message failed, one line (the NAME.error text
	// without its trailing newline).
	Error string
}

// Open opens (creating it if needed) the spool in opts.Dir and recovers it
// after a crash, as the package documentation describes. It takes an
// exclusive lock on the spool, released by Close or by the process's end.
func Open(opts *Options) (*Outbox, error) {
	if opts == nil || opts.Dir == "" {
		return nil, errors.New("outbox: Options.Dir is required")
	}
	o := &Outbox{
		dir:             opts.Dir,
		log:             opts.Logger,
		now:             opts.Now,
		minBackoff:      opts.MinBackoff,
		maxBackoff:      opts.MaxBackoff,
		maxHeader:       opts.MaxHeaderBytes,
		maxCopyAttempts: opts.MaxCopyAttempts,
		allowUnknown:    opts.AllowUnknownFrom,
		allowReceived:   opts.AllowReceived,
		sendDelay:       max(opts.SendDelay, 0),
		holdKick:        make(chan struct{}, 1),
		held:            make(map[string]time.Time),
		byAccount:       make(map[string]*account),
		items:           make(map[string]*item),
		byName:          make(map[string]*item),
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.minBackoff <= 0 {
		o.minBackoff = 30 * time.Second
	}
	if o.maxBackoff <= 0 {
		o.maxBackoff = time.Hour
	}
	if o.maxBackoff < o.minBackoff {
		o.maxBackoff = o.minBackoff
	}
	if o.maxHeader <= 0 {
		o.maxHeader = 1 << 20
	}
	if o.maxCopyAttempts <= 0 {
		o.maxCopyAttempts = 10
	}
	for _, a := range opts.Accounts {
		if a.Name == "" {
			return nil, errors.New("outbox: an account has no name")
		}
		if a.Sender == nil {
			return nil, fmt.Errorf("outbox: account %s has no sender", a.Name)
		}
		if o.byAccount[a.Name] != nil {
			return nil, fmt.Errorf("outbox: account %s is configured twice", a.Name)
		}
		acct := &account{Account: a, kick: make(chan struct{}, 1)}
		acct.Addresses = slices.Clone(a.Addresses)
		if a.Default {
			if o.def != nil {
				return nil, fmt.Errorf("outbox: accounts %s and %s are both default", o.def.Name, a.Name)
			}
			o.def = acct
		}
		o.accounts = append(o.accounts, acct)
		o.byAccount[a.Name] = acct
	}
	if err := o.openSpool(); err != nil {
		if o.lock != nil {
			o.lock.Close()
		}
		return nil, err
	}
	return o, nil
}

// Close releases the spool lock. Run must have returned; drafts still open
// are left in tmp/ and deleted by the next Open.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return o.lock.Close()
}

// Kick wakes the queue loop of every account, so due messages go out now.
func (o *Outbox) Kick() {
	for _, a := range o.accounts {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// Queued lists the messages waiting in outbox/ (queued or being sent), in
// the order they will be sent. A sent message whose Sent copy is pending is
// not listed: it has left outbox/.
func (o *Outbox) Queued() []Entry {
	return o.list(func(it *item) bool { return it.rec.State == StateQueued || it.rec.State == StateSending })
}

// Failed lists the messages in outbox/failed/, oldest first.
func (o *Outbox) Failed() []Entry {
	return o.list(func(it *item) bool { return it.rec.State == StateFailed })
}

func (o *Outbox) list(keep func(*item) bool) []Entry {
	o.mu.Lock()
	var its []*item
	for _, it := range o.byName {
		if keep(it) {
			its = append(its, it)
		}
	}
	sortItems(its)
	es := make([]Entry, len(its))
	for i, it := range its {
		es[i] = it.entry()
	}
	o.mu.Unlock()
	return es
}

// Stat describes the queued or failed message called name.
func (o *Outbox) Stat(name string) (Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.byName[name]
	if it == nil {
		return Entry{}, notExist(name)
	}
	return it.entry(), nil
}

// OpenQueued opens the bytes of the queued message name for reading: the
// message as it will be transmitted (Bcc removed, Date and Message-ID
// added). The file stays readable after the message is sent.
func (o *Outbox) OpenQueued(name string) (*os.File, error) {
	return o.openMessage(name, false)
}

// OpenFailed opens the bytes of the failed message name for reading.
func (o *Outbox) OpenFailed(name string) (*os.File, error) {
	return o.openMessage(name, true)
}

func (o *Outbox) openMessage(name string, failed bool) (*os.File, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.byName[name]
	if it == nil || (it.rec.State == StateFailed) != failed {
		return nil, notExist(name)
	}
	// Opened under o.mu, so the directory does not move meanwhile.
	f, err := os.Open(it.messagePath())
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", name, err)
	}
	return f, nil
}

// FailedError returns the content of outbox/failed/NAME.error: why the
// message failed, one line ending in a newline.
func (o *Outbox) FailedError(name string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.byName[name]
	if it == nil || it.rec.State != StateFailed {
		return "", notExist(name)
	}
	return it.rec.Error + "\n", nil
}

func notExist(name string) error {
	return fmt.Errorf("outbox: %q: %w", name, fs.ErrNotExist)
}

// oneLine makes s fit a .error file or an extended attribute: one line,
// no control characters.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
