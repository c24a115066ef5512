package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"mailfs/internal/atomicfile"
	"mailfs/internal/statedir"
)

// Spool directory and file names.
const (
	tmpDir      = "tmp"
	queueDir    = "queue"
	failedDir   = "failed"
	filesDir    = "files"  // the files of outbox/: held messages, side files
	draftsDir   = "drafts" // the files of outbox/drafts/
	draftFile   = "draft"
	messageFile = "message.eml"
	// preparedFile is the prepared message while it replaces message.eml.
	preparedFile = "prepared.eml"
	stateFile    = "state.json"
	lockFile     = "lock"
)

// recordVersion is the version of the state.json format.
const recordVersion = 1

// record is the content of state.json: everything about a message except
// its bytes.
type record struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	State   string `json:"state"`
	// Seq orders messages by commit.
	Seq     uint64    `json:"seq"`
	Created time.Time `json:"created"`
	// Prepared is true when message.eml is the prepared message and
	// Account, From and To are set; false for an invalid message, whose
	// message.eml holds the bytes as the user wrote them.
	Prepared bool     `json:"prepared"`
	Account  string   `json:"account,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	// Done are the recipients of To that have the message: a server that
	// limits the recipients of a transaction got it in several, and each
	// one it accepted is recorded here before the next begins. They are
	// never sent it again (not by a retry, a Retry or a restart).
	Done         []string  `json:"done,omitempty"`
	Attempts     int       `json:"attempts,omitempty"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	Error        string    `json:"error,omitempty"`
	CopyAttempts int       `json:"copy_attempts,omitempty"`
}

// item is a committed message in memory. All fields are guarded by
// Outbox.mu; the directory on disk belongs to whoever set busy.
type item struct {
	id   string
	dir  string // absolute path of the message's directory (queue/ID or failed/ID)
	rec  record
	size int64
	// busy is set while one goroutine works on the item's directory
	// (sending, Sent copy, Remove, Retry); others skip the item or get
	// ErrBusy.
	busy bool
}

func (it *item) messagePath() string { return filepath.Join(it.dir, messageFile) }

func (it *item) entry() Entry {
	return Entry{
		Name:        it.rec.Name,
		Size:        it.size,
		ModTime:     it.rec.Created,
		State:       it.rec.State,
		Account:     it.rec.Account,
		From:        it.rec.From,
		Recipients:  slices.Clone(it.rec.To),
		Delivered:   slices.Clone(it.rec.Done),
		Attempts:    it.rec.Attempts,
		NextAttempt: it.rec.NextAttempt,
		LastError:   it.rec.LastError,
		Error:       it.rec.Error,
	}
}

// pending returns the recipients of rec that do not have the message yet.
func (rec *record) pending() []string {
	var to []string
	for _, a := range rec.To {
		if !slices.Contains(rec.Done, a) {
			to = append(to, a)
		}
	}
	return to
}

func sortItems(its []*item) {
	slices.SortFunc(its, func(a, b *item) int {
		if a.rec.Seq != b.rec.Seq {
			if a.rec.Seq < b.rec.Seq {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
}

// syncDir fsyncs a directory; a variable so that tests can watch it.
var syncDir = atomicfile.SyncDir

// syncParents makes the entry of dir durable in its parent, and the
// entries of the parent's own ancestors as far as it can (a directory
// created just before, such as $XDG_DATA_HOME/mailfs): an ancestor that
// cannot be opened (no read permission) is skipped.
func syncParents(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	for p := filepath.Dir(dir); filepath.Dir(p) != p; {
		p = filepath.Dir(p)
		syncDir(p)
	}
	return nil
}

func (o *Outbox) path(elem ...string) string {
	return filepath.Join(append([]string{o.dir}, elem...)...)
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeRecord replaces dir/state.json atomically and durably.
func writeRecord(dir string, rec *record) error {
	rec.Version = recordVersion
	b, err := json.MarshalIndent(rec, "", "\t")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	b = append(b, '\n')
	if err := atomicfile.WriteFile(filepath.Join(dir, stateFile), b, 0o600); err != nil {
		return fmt.Errorf("write state %s: %w", dir, err)
	}
	return nil
}

// errUnknownState marks a state.json that was read but names no known
// state: the rest of the record (name, envelope) is good.
var errUnknownState = errors.New("unknown state")

func readRecord(dir string) (record, error) {
	var rec record
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFile), err)
	}
	if rec.Version != recordVersion {
		return rec, fmt.Errorf("%s: unknown state version %d", filepath.Join(dir, stateFile), rec.Version)
	}
	switch rec.State {
	case StateQueued, StateSending, StateSent, StateFailed:
	default:
		return rec, fmt.Errorf("%s: %w %q", filepath.Join(dir, stateFile), errUnknownState, rec.State)
	}
	return rec, nil
}

// discard removes a message directory: it is first renamed into tmp/ (one
// atomic step, so a crash never leaves half a message in queue/ or failed/),
// then deleted.
func (o *Outbox) discard(dir string) error {
	gone := o.path(tmpDir, "gone-"+newID())
	if err := atomicfile.Rename(dir, gone); err != nil {
		return err
	}
	if err := os.RemoveAll(gone); err != nil {
		o.log.Warn("outbox: cannot delete spool leftovers; the next start deletes them", "dir", gone, "err", err)
	}
	return nil
}

// openSpool creates and locks the spool, then loads and recovers it.
func (o *Outbox) openSpool() error {
	// What is queued here is sent through the user's accounts: nobody
	// else may have been able to put anything in it.
	for _, d := range []string{o.dir, o.path(tmpDir), o.path(queueDir), o.path(failedDir), o.path(filesDir), o.path(draftsDir)} {
		if err := statedir.Private(d, "outbox spool", o.log); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if err := statedir.OwnedTree(o.dir, "outbox spool"); err != nil {
		return fmt.Errorf("outbox: %w (nothing in it was sent)", err)
	}
	lock, err := os.OpenFile(o.path(lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: lock spool: %w", err)
	}
	o.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("outbox: spool %s is in use by another mailfs (%w)", o.dir, err)
	}
	// The spool and its subdirectories may have been created just now:
	// make their entries durable before a message is committed into them.
	if err := syncDir(o.dir); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := syncParents(o.dir); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}

	// Drafts never committed and half-removed messages.
	ents, err := os.ReadDir(o.path(tmpDir))
	if err != nil {
		return fmt.Errorf("outbox: read spool: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(o.path(tmpDir, e.Name())); err != nil {
			return fmt.Errorf("outbox: clean spool: %w", err)
		}
	}
	if len(ents) > 0 {
		o.log.Info("outbox: deleted drafts that were never committed", "count", len(ents))
		if err := atomicfile.SyncDir(o.path(tmpDir)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}

	// List both directories before recovering: recovery moves messages
	// between them.
	lists := make(map[string][]os.DirEntry)
	for _, d := range []string{failedDir, queueDir} {
		if lists[d], err = os.ReadDir(o.path(d)); err != nil {
			return fmt.Errorf("outbox: read spool: %w", err)
		}
	}
	var its []*item
	for _, d := range []string{failedDir, queueDir} {
		for _, e := range lists[d] {
			it, err := o.recoverItem(d, e.Name())
			if err != nil {
				return fmt.Errorf("outbox: recover %s: %w", o.path(d, e.Name()), err)
			}
			if it != nil {
				its = append(its, it)
			}
		}
	}
	sortItems(its)
	for _, it := range its {
		o.seq = max(o.seq, it.rec.Seq)
		o.items[it.id] = it
		if it.rec.State == StateSent {
			continue
		}
		if o.nameTaken(it.rec.Name) {
			// Cannot happen unless the spool was edited by hand; keep
			// both under distinct names.
			old := it.rec.Name
			it.rec.Name = o.uniqueName(old, false)
			if err := writeRecord(it.dir, &it.rec); err != nil {
				return fmt.Errorf("outbox: recover %s: %w", it.dir, err)
			}
			o.log.Warn("outbox: duplicate name in spool, renamed", "name", old, "new", it.rec.Name)
		}
		o.byName[it.rec.Name] = it
	}
	// A message taken from outbox/ but not prepared when mailfs stopped.
	for _, it := range its {
		if it.rec.State == StateQueued && !it.rec.Prepared {
			it.busy = true
			o.prepareQueued(it)
		}
	}
	// The messages held in outbox/ wait for their delay again.
	names, err := listFiles(o.path(filesDir))
	if err != nil {
		return fmt.Errorf("outbox: read spool: %w", err)
	}
	for _, name := range names {
		if isMessage(AreaOutbox, name) {
			o.held[name] = o.now().Add(o.sendDelay)
		}
	}
	return nil
}

// recoverItem loads one message directory found in spool directory d and
// brings it to a consistent state. It returns nil for a directory that is
// not a message (removed).
func (o *Outbox) recoverItem(d, id string) (*item, error) {
	dir := o.path(d, id)
	st, err := os.Stat(filepath.Join(dir, messageFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Not a message: nothing was ever committed here.
			o.log.Warn("outbox: spool entry without message, deleted", "dir", dir)
			return nil, os.RemoveAll(dir)
		}
		return nil, err
	}
	os.Remove(filepath.Join(dir, stateFile+".tmp"))
	it := &item{id: id, dir: dir, size: st.Size()}
	rec, err := readRecord(dir)
	if err == nil {
		if err := o.finishPrepare(dir, &rec); err != nil {
			return nil, err
		}
		if st, err = os.Stat(filepath.Join(dir, messageFile)); err != nil {
			return nil, err
		}
		it.size = st.Size()
	}
	if errors.Is(err, errUnknownState) {
		// The envelope is good (it holds the Bcc recipients, which the
		// prepared bytes no longer do): keep it for Retry.
		o.log.Error("outbox: message in an unknown state, moved to failed/", "dir", dir, "err", err)
		rec.State = StateFailed
		rec.Error = oneLine(fmt.Sprintf("mailfs found this message in a state it does not know (%v); mv it back to outbox/ to send it again", err))
		it.rec = rec
		if err := writeRecord(dir, &it.rec); err != nil {
			return nil, err
		}
		return it, o.settle(it, d)
	}
	if err != nil {
		// Keep the bytes: the user can read them in failed/ and Retry
		// (which prepares the message again from them).
		o.log.Error("outbox: unreadable message state, moved to failed/", "dir", dir, "err", err)
		rec = record{
			Name:    id + ".eml",
			State:   StateFailed,
			Created: st.ModTime(),
			Error:   oneLine(fmt.Sprintf("mailfs could not read this message's state (%v); mv it back to outbox/ to send it again", err)),
		}
		it.rec = rec
		return it, o.settle(it, d)
	}
	it.rec = rec
	switch rec.State {
	case StateSending:
		it.rec.State = StateQueued
		it.rec.NextAttempt = o.now()
		it.rec.LastError = "mailfs stopped while sending this message; sending it again (it may arrive twice)"
		if n := len(it.rec.Done); n > 0 {
			it.rec.LastError = fmt.Sprintf("mailfs stopped while sending this message; sending it again to the %d of %d recipients who do not have it yet (those of the transaction cut short may get it twice)",
				len(it.rec.To)-n, len(it.rec.To))
		}
		o.log.Warn("outbox: message was being sent when mailfs stopped; sending it again", "name", rec.Name)
		if err := writeRecord(dir, &it.rec); err != nil {
			return nil, err
		}
	case StateQueued:
		// A restart retries at once, not at the backoff time: whatever
		// failed (the network, the config) may well be fixed now.
		it.rec.NextAttempt = o.now()
	case StateFailed, StateSent:
	default:
		return nil, fmt.Errorf("unknown state %q", rec.State)
	}
	if it.rec.State == StateQueued && it.rec.Prepared && o.byAccount[it.rec.Account] == nil {
		o.reroute(it)
		if err := writeRecord(dir, &it.rec); err != nil {
			return nil, err
		}
	}
	if it.rec.State == StateSent {
		if a := o.byAccount[it.rec.Account]; a == nil || a.SentCopy == nil {
			o.log.Warn("outbox: pending Sent copy dropped: the account is gone or keeps no Sent copy", "name", rec.Name, "account", rec.Account)
			return nil, o.discard(dir)
		}
	}
	return it, o.settle(it, d)
}

// finishPrepare completes or undoes a preparation cut short (see
// prepareQueued): a prepared.eml that the record knows (Prepared) replaces
// message.eml; one it does not know is deleted.
func (o *Outbox) finishPrepare(dir string, rec *record) error {
	prepared := filepath.Join(dir, preparedFile)
	if _, err := os.Lstat(prepared); err != nil {
		return nil
	}
	if !rec.Prepared {
		return os.Remove(prepared)
	}
	return atomicfile.Rename(prepared, filepath.Join(dir, messageFile))
}

// reroute gives a queued message whose account is gone a configured one, by
// its envelope sender, or fails it.
func (o *Outbox) reroute(it *item) {
	old := it.rec.Account
	if a := o.accountFor(it.rec.From); a != nil {
		it.rec.Account = a.Name
	} else if o.def != nil {
		it.rec.Account = o.def.Name
	} else {
		it.rec.State = StateFailed
		it.rec.Error = oneLine(fmt.Sprintf("account %s is no longer configured and no account sends as %s (%s)", old, it.rec.From, stamp(o.now())))
		return
	}
	o.log.Warn("outbox: account no longer configured, message rerouted", "name", it.rec.Name, "from", old, "to", it.rec.Account)
}

// settle moves the item's directory where its state says it belongs,
// finishing a move to failed/ or a Retry cut short by a crash.
func (o *Outbox) settle(it *item, d string) error {
	want := queueDir
	if it.rec.State == StateFailed {
		want = failedDir
	}
	if d == want {
		return nil
	}
	if d == queueDir {
		// The record may predate the decision (unreadable state).
		if err := writeRecord(it.dir, &it.rec); err != nil {
			return err
		}
	}
	to := o.path(want, it.id)
	if err := atomicfile.Rename(it.dir, to); err != nil {
		return err
	}
	it.dir = to
	return nil
}

// stamp formats t for an error line: "2026-11-26 10:00 UTC".
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 MST")
}
