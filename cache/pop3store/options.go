package pop3store

import (
	"io"
	"log/slog"
	"time"

	"mailfs/remote"
)

// Defaults used when Options leaves a field zero.
const (
	// DefaultPollInterval is how often Run polls the server.
	DefaultPollInterval = 5 * time.Minute
	// DefaultStaleAfter is the least age of INBOX at which List polls.
	DefaultStaleAfter = 5 * time.Second
	// DefaultPollWait is how long List waits for a poll it started.
	DefaultPollWait = 5 * time.Second
)

// Options configures a Store. Dir and Downloader are required; every other
// field has a default.
type Options struct {
	// Dir is the store's directory, normally
	// $XDG_DATA_HOME/mailfs/pop3/<account>. It is created 0700 (and its
	// permissions corrected when wider). One process at a time may use it.
	Dir string
	// Account is the account's name, used in log lines and errors.
	Account string
	// Downloader opens sessions on the POP3 server.
	Downloader remote.Downloader
	// LeaveOnServer keeps downloaded messages on the server. When false a
	// message is deleted (DELE) once it is safely stored, in the session
	// that downloaded it.
	LeaveOnServer bool
	// PollInterval is the time between two polls of Run. Default
	// DefaultPollInterval.
	PollInterval time.Duration
	// StaleAfter is the least age of the last poll at which listing INBOX
	// polls the server: List polls when the last poll is older than both
	// its maxAge and StaleAfter, so that the filesystem cannot hammer a
	// POP3 server (many limit how often one may log in). Default
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// PollWait is how long List waits for the poll it started (or joined)
	// before it serves the store as it is; the poll goes on in the
	// background and what it downloads shows in the next listing. Default
	// DefaultPollWait.
	PollWait time.Duration
	// OnChange, when set, is called with the mailbox name after a poll
	// stored new messages in it, so that the filesystem can tell the
	// kernel. It is called from the polling goroutine with no lock held.
	OnChange func(mailbox string)
	// Logger receives one line per session and per error; nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of o with every zero field defaulted.
func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.PollWait <= 0 {
		o.PollWait = DefaultPollWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
