package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"mailfs/internal/atomicfile"
	"mailfs/internal/header"
)

// Draft is a message being written into outbox/NAME: the bytes go to a
// spool temp file; Commit queues it. The fs layer calls WriteAt for WRITE,
// Commit for FLUSH and Abort for RELEASE. A Draft is safe for concurrent
// use.
type Draft struct {
	o   *Outbox
	id  string
	dir string // tmp/ID

	// mu guards every field below and the file's content.
	mu     sync.Mutex
	name   string   // the requested name; the final one after Commit
	f      *os.File // tmp/ID/draft; nil once Commit or Abort ran
	size   int64    // the draft's size (highest byte written, or Truncate)
	hdr    []byte   // bytes [0, len(hdr)) written so far while the header is incomplete
	scan   int      // start of the first line of hdr not yet scanned
	hdrEnd int      // length of the header block once its blank line is seen, else -1
	// invalid is set once the message is known to be invalid; every later
	// write fails with it and Commit moves the draft to failed/.
	invalid error
	// werr is the first I/O error of a write or truncate: the draft may
	// miss bytes, so Commit fails with it and drops the draft rather than
	// send it truncated.
	werr   error
	done   bool  // Commit finished (result holds its outcome) or Abort ran
	result error // what Commit returned
	moved  bool  // the draft left tmp/ (queued or failed)
}

// Create starts a draft for a message called name in outbox/. The name is
// settled at Commit: if a queued or failed message already has it, the
// message gets a suffix (see the package documentation). Errors wrap
// ErrBadName for names that cannot be an outbox file.
func (o *Outbox) Create(name string) (*Draft, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("outbox: create: %w", err)
	}
	id := newID()
	dir := o.path(tmpDir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, draftFile), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("outbox: create %s: %w", name, err)
	}
	return &Draft{o: o, id: id, dir: dir, name: name, f: f, hdrEnd: -1}, nil
}

// Name returns the draft's name: the one asked for, or after a Commit that
// queued or failed it, the name it has in outbox/ or outbox/failed/.
func (d *Draft) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// Size returns the number of bytes in the draft.
func (d *Draft) Size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.size
}

// ReadAt reads back what was written into the draft.
func (d *Draft) ReadAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return 0, fmt.Errorf("outbox: draft %s: %w", d.name, os.ErrClosed)
	}
	return d.f.ReadAt(p, off)
}

// WriteAt writes p at off into the draft. As soon as the header block is
// complete (its blank line written), the header is validated: when the
// message is invalid, this write and every later one fail with an error
// wrapping ErrInvalid (and Commit moves what was written to failed/). The
// bytes of the write that completed an invalid header are kept in the file
// even though it reports 0 bytes written, so failed/ shows all the user
// wrote until then.
// Writing after Commit or Abort fails with os.ErrClosed.
func (d *Draft) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil || d.done {
		return 0, fmt.Errorf("outbox: draft %s: %w", d.name, os.ErrClosed)
	}
	if d.invalid != nil {
		return 0, fmt.Errorf("outbox: %s: %w", d.name, d.invalid)
	}
	if off < 0 {
		return 0, fmt.Errorf("outbox: draft %s: negative offset", d.name)
	}
	n, err := d.f.WriteAt(p, off)
	d.size = max(d.size, off+int64(n))
	if err != nil {
		err = fmt.Errorf("outbox: write draft %s: %w", d.name, err)
		if d.werr == nil {
			d.werr = err
		}
		return n, err
	}
	if d.hdrEnd < 0 {
		d.feedHeader(p, off)
		if d.invalid != nil {
			return 0, fmt.Errorf("outbox: %s: %w", d.name, d.invalid)
		}
	}
	return n, nil
}

// Truncate sets the draft's size, as ftruncate does.
func (d *Draft) Truncate(size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil || d.done {
		return fmt.Errorf("outbox: draft %s: %w", d.name, os.ErrClosed)
	}
	if err := d.f.Truncate(size); err != nil {
		err = fmt.Errorf("outbox: truncate draft %s: %w", d.name, err)
		if d.werr == nil {
			d.werr = err
		}
		return err
	}
	d.size = size
	if d.hdrEnd >= 0 && size >= int64(d.hdrEnd) || d.invalid != nil {
		return nil
	}
	// Scan again what is left of the header.
	d.hdrEnd, d.scan = -1, 0
	d.hdr = make([]byte, min(size, int64(d.o.maxHeader)))
	n, _ := d.f.ReadAt(d.hdr, 0)
	d.hdr = d.hdr[:n]
	d.feedHeader(nil, 0)
	return nil
}

// feedHeader records the bytes p written at off while the header is
// incomplete and validates the header once its end is seen. Bytes written
// beyond a hole are left to Commit. d.mu must be held.
func (d *Draft) feedHeader(p []byte, off int64) {
	limit := d.o.maxHeader
	if off <= int64(len(d.hdr)) && off < int64(limit) {
		end := min(int(off)+len(p), limit)
		if end > len(d.hdr) {
			d.hdr = append(d.hdr, make([]byte, end-len(d.hdr))...)
		}
		copy(d.hdr[off:end], p)
		if int(off) < d.scan {
			d.scan = 0 // an earlier line was rewritten
		}
	}
	from := d.scan
	end, next := header.End(d.hdr, from)
	d.scan = next
	if err := checkFieldLines(d.hdr[from:next], from == 0); err != nil {
		d.invalid = err
		return
	}
	if end < 0 {
		if len(d.hdr) >= limit {
			d.invalid = d.o.errHeaderTooLong()
		}
		return
	}
	d.hdrEnd = end
	hb := d.hdr[:end]
	d.hdr = nil
	h, err := parseHeader(hb)
	if err == nil {
		_, err = d.o.route(h)
	}
	d.invalid = err
}

// checkFieldLines checks the complete lines of b, the start of a header
// block (first says that b starts at the first line): each must be a field
// ("Name: value"), the continuation of one, or the blank line that ends the
// header. A text that is not a message ("hi") fails as soon as its first
// line is written, so the writer's write reports it (a shell ignores the
// error of close).
func checkFieldLines(b []byte, first bool) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		line := header.TrimEOL(b[:i+1])
		b = b[i+1:]
		switch header.Kind(line) {
		case header.Blank:
			return nil // the blank line: the body follows
		case header.Continuation:
			if first {
				return invalidf("the first line \"%s\" is indented: a message starts with a header field such as \"To: someone@example.org\"", excerpt(string(line), 60))
			}
		default:
			if name, _, ok := bytes.Cut(line, []byte(":")); !ok || !header.ValidName(name) {
				return invalidf("\"%s\" is not a header field (\"Name: value\"): a message starts with header fields such as \"To: someone@example.org\", then a blank line, then the text", excerpt(string(line), 60))
			}
		}
		first = false
	}
	return nil
}

// Commit makes the draft a queued message: the file is fsync'ed, the
// message validated and prepared (see the package documentation), and it
// is durably in the queue before Commit returns nil. An invalid message is
// moved to outbox/failed/ with its reason, and Commit returns an error
// wrapping ErrInvalid. Commit is idempotent: later calls return the first
// call's result. A draft nothing was written to is not committed (a shell
// redirection flushes the file before writing it): Commit returns nil and
// the draft stays open.
func (d *Draft) Commit() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return d.result
	}
	if d.f == nil {
		return fmt.Errorf("outbox: draft %s: %w", d.name, os.ErrClosed)
	}
	if d.size == 0 && d.invalid == nil && d.werr == nil {
		return nil
	}
	d.result = d.commit()
	d.done = true
	d.f.Close()
	d.f = nil
	if !d.moved {
		os.RemoveAll(d.dir)
	}
	return d.result
}

// commit does Commit's work: a valid message becomes the held message
// files/NAME, replacing the one held under that name (a save of the same
// file), an invalid one goes to failed/. d.mu must be held.
func (d *Draft) commit() error {
	o := d.o
	if d.werr != nil {
		o.log.Warn("outbox: message not queued: a write into it failed", "name", d.name, "err", d.werr)
		return fmt.Errorf("outbox: commit %s: a write failed, the message may be incomplete and was not queued: %w", d.name, d.werr)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("outbox: commit %s: fsync: %w", d.name, err)
	}
	if d.invalid != nil {
		return d.fail(d.invalid)
	}
	_, err := o.validate(d.f, d.size)
	if errors.Is(err, ErrInvalid) {
		return d.fail(err)
	}
	if err != nil {
		return fmt.Errorf("outbox: commit %s: %w", d.name, err)
	}
	o.filesMu.Lock()
	o.mu.Lock()
	name := o.uniqueName(d.name, true)
	o.mu.Unlock()
	err = atomicfile.Rename(filepath.Join(d.dir, draftFile), o.path(filesDir, name))
	if err == nil {
		o.hold(name)
	}
	o.filesMu.Unlock()
	if err != nil {
		return fmt.Errorf("outbox: commit %s: %w", d.name, err)
	}
	d.name = name
	if o.sendDelay == 0 {
		o.take(name)
	} else {
		o.log.Info("outbox: message held for sending", "name", name, "delay", o.sendDelay)
	}
	return nil
}

// fail moves the draft, as written, to failed/ with reason (an error
// wrapping ErrInvalid), and returns reason with the message's name. d.mu
// must be held.
func (d *Draft) fail(reason error) error {
	o := d.o
	ret := fmt.Errorf("outbox: %s: %w", d.name, reason)
	err := os.Rename(filepath.Join(d.dir, draftFile), filepath.Join(d.dir, messageFile))
	if err == nil {
		now := o.now()
		rec := record{
			State:   StateFailed,
			Created: now,
			Error:   oneLine(fmt.Sprintf("%v (%s)", reason, stamp(now))),
		}
		err = d.enter(failedDir, rec, d.size)
	}
	if err != nil {
		return fmt.Errorf("%w (and it could not be kept in outbox/failed/: %v)", ret, err)
	}
	o.log.Warn("outbox: invalid message moved to failed/", "name", d.name, "err", reason)
	return fmt.Errorf("outbox: %s: %w", d.name, reason)
}

// enter gives the draft's directory (holding message.eml) a name and a
// sequence number, writes its record and renames it into the spool
// directory to (queue or failed). d.mu must be held.
func (d *Draft) enter(to string, rec record, size int64) error {
	o := d.o
	it := &item{id: d.id, dir: d.dir, size: size, busy: true}
	o.mu.Lock()
	o.seq++
	rec.Seq = o.seq
	rec.Name = o.uniqueName(d.name, false)
	it.rec = rec
	o.items[it.id] = it
	o.byName[rec.Name] = it // reserves the name
	o.mu.Unlock()

	dst := o.path(to, d.id)
	err := writeRecord(d.dir, &rec) // also makes message.eml's entry durable
	if err == nil {
		err = atomicfile.Rename(d.dir, dst)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		delete(o.items, it.id)
		delete(o.byName, rec.Name)
		return fmt.Errorf("outbox: commit %s: %w", d.name, err)
	}
	d.moved = true
	d.name = rec.Name
	it.dir = dst
	it.busy = false
	return nil
}

// Abort discards a draft that was not committed: its temp file is deleted.
// After Commit it does nothing. The fs layer calls it on RELEASE, so a
// file that was created and never written (touch outbox/x) leaves nothing
// behind, and a draft whose Commit failed with an I/O error is dropped (the
// writer saw that error on close).
func (d *Draft) Abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	if !d.done {
		d.done = true
		d.result = fmt.Errorf("outbox: draft %s: %w", d.name, os.ErrClosed)
	}
	if !d.moved {
		os.RemoveAll(d.dir)
	}
}

var _ io.WriterAt = (*Draft)(nil)
var _ io.ReaderAt = (*Draft)(nil)
