package outbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-message/mail"

	"mailfs/internal/atomicfile"
	"mailfs/internal/ctxio"
)

// Submission says how a message handed to Submit (mailfs sendmail) is
// addressed.
type Submission struct {
	// Name is the display name of the message in outbox/ while it waits
	// (made unique as for any message); "" means "sendmail.eml".
	Name string
	// From, when not "", is the envelope sender (sendmail -f): it must be
	// an address of an account, which then sends the message, unless
	// Options.AllowUnknownFrom (then the default account sends it, with its
	// first address as envelope sender, as for an unknown From:).
	From string
	// Recipients are envelope recipients given explicitly (sendmail's
	// arguments). Without Extract they are the only recipients: To, Cc and
	// Bcc of the header are then not used for the envelope.
	Recipients []string
	// Extract takes the recipients from To, Cc and Bcc (sendmail -t), in
	// addition to Recipients.
	Extract bool
}

// maxSubmitBytes bounds a submitted message.
const maxSubmitBytes = 1 << 30

// Submit queues the message read from r (sendmail): it is checked with the
// rules of a message written into outbox/ (the header, the From: routing,
// Received:), prepared (Date and Message-ID added when missing, Bcc
// removed) and entered into the queue directly, without the send delay of
// outbox/: its envelope (sub's explicit recipients included) is recorded
// in state.json. When Submit returns nil the message is on disk, fsync'ed,
// and will be sent as the package documentation promises for a committed
// message; the returned Entry describes it. An invalid message is not kept
// (the caller still has it): the error wraps ErrInvalid and says why in one
// line. Other errors are I/O errors or ctx's.
func (o *Outbox) Submit(ctx context.Context, r io.Reader, sub *Submission) (Entry, error) {
	if sub == nil {
		sub = &Submission{}
	}
	name := sub.Name
	if name == "" {
		name = "sendmail.eml"
	}
	if err := checkName(name); err != nil || IsSideFile(name) || name == DraftsDir {
		return Entry{}, fmt.Errorf("outbox: submit %q: %w", name, ErrBadName)
	}
	if !sub.Extract && len(sub.Recipients) == 0 {
		return Entry{}, invalidf("no recipients: give them as arguments, or take them from To, Cc and Bcc (sendmail -t)")
	}
	for _, rc := range sub.Recipients {
		if strings.ContainsAny(rc, "\r\n") {
			return Entry{}, invalidf("recipient %q: contains a line break", excerpt(rc, 80))
		}
		if _, err := mail.ParseAddress(rc); err != nil {
			return Entry{}, invalidf("recipient %q: %v", excerpt(rc, 80), err)
		}
	}
	id := newID()
	tmp := o.path(tmpDir, id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return Entry{}, fmt.Errorf("outbox: submit: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()

	src, size, err := receive(ctx, filepath.Join(tmp, draftFile), r)
	if err != nil {
		return Entry{}, err
	}
	defer src.Close()
	p, err := o.prepareSubmission(tmp, src, size, sub)
	if err != nil {
		return Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, fmt.Errorf("outbox: submit: %w", err)
	}
	fi, err := os.Stat(filepath.Join(tmp, messageFile))
	if err != nil {
		return Entry{}, fmt.Errorf("outbox: submit: %w", err)
	}
	os.Remove(filepath.Join(tmp, draftFile))

	now := o.now()
	it := &item{id: id, dir: tmp, size: fi.Size(), busy: true}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return Entry{}, fmt.Errorf("outbox: submit: %w", os.ErrClosed)
	}
	o.seq++
	rec := record{
		Name: o.uniqueName(name, false), State: StateQueued, Seq: o.seq, Created: now,
		Prepared: true, Account: p.acct.Name, From: p.from, To: p.to, NextAttempt: now,
	}
	it.rec = rec
	o.items[id] = it
	o.byName[rec.Name] = it // reserves the name
	o.mu.Unlock()

	dst := o.path(queueDir, id)
	err = writeRecord(tmp, &rec) // also makes message.eml's entry durable
	if err == nil {
		err = atomicfile.Rename(tmp, dst)
	}
	o.mu.Lock()
	if err != nil {
		delete(o.items, id)
		delete(o.byName, rec.Name)
		o.mu.Unlock()
		return Entry{}, fmt.Errorf("outbox: submit: %w", err)
	}
	committed = true
	it.dir, it.busy = dst, false
	e := it.entry()
	o.mu.Unlock()
	o.log.Info("outbox: message queued (sendmail)", "name", rec.Name, "account", p.acct.Name, "recipients", len(p.to))
	o.kick(p.acct)
	return e, nil
}

// receive copies r into a new file at path, fsync'ed, and returns it open
// for reading with its size. An empty message is invalid.
func receive(ctx context.Context, path string, r io.Reader) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: submit: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(ctxio.Reader(ctx, r), maxSubmitBytes+1))
	if err == nil && n > maxSubmitBytes {
		err = invalidf("larger than %d bytes", int64(maxSubmitBytes))
	}
	if err == nil && n == 0 {
		err = invalidf("the message is empty")
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		if errors.Is(err, ErrInvalid) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("outbox: submit: receive the message: %w", err)
	}
	return f, n, nil
}

// prepareSubmission validates the size bytes of src as a submitted
// message, decides its envelope by sub, and writes the message to transmit
// into dir/message.eml, fsync'ed.
func (o *Outbox) prepareSubmission(dir string, src *os.File, size int64, sub *Submission) (*plan, error) {
	hb, bodyOff, err := o.readHeaderBlock(src, size)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(hb)
	if err != nil {
		return nil, err
	}
	// Routing reads the recipients of the header; explicit ones are
	// checked by it as an added Bcc: field (never written out).
	rh := h
	if len(sub.Recipients) > 0 {
		eol := lineEnding(hb)
		if rh, err = parseHeader(append([]byte("Bcc: "+strings.Join(sub.Recipients, ", ")+eol), hb...)); err != nil {
			return nil, err
		}
		if !sub.Extract {
			rh.Del("To")
			rh.Del("Cc")
			rh.Del("Bcc")
			rh.Set("Bcc", strings.Join(sub.Recipients, ", "))
		}
	}
	p, err := o.route(rh)
	if err != nil {
		return nil, err
	}
	if sub.From != "" {
		if err := o.routeSender(p, sub.From); err != nil {
			return nil, err
		}
	}
	dst, err := os.OpenFile(filepath.Join(dir, messageFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: submit: %w", err)
	}
	w := bufio.NewWriterSize(dst, 64<<10)
	w.Write(rewriteHeader(hb, h, p, o.now()))
	_, err = io.Copy(w, io.NewSectionReader(src, bodyOff, size-bodyOff))
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: submit: prepare message: %w", err)
	}
	return p, nil
}

// routeSender makes the envelope sender from (sendmail -f) choose the
// account of plan p, as a From: address does.
func (o *Outbox) routeSender(p *plan, from string) error {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return invalidf("envelope sender (-f) %q: %v", excerpt(from, 80), err)
	}
	if acct := o.accountFor(a.Address); acct != nil {
		p.acct, p.from = acct, a.Address
		p.fillSender()
		return nil
	}
	if !o.allowUnknown {
		return invalidf("envelope sender (-f) %s is not an address of any account: add it to an account's addresses, or set allow_unknown_from = true in [outbox] to send it through the default account", a.Address)
	}
	if o.def == nil {
		return invalidf("envelope sender (-f) %s matches no account's addresses and no account is default", a.Address)
	}
	p.acct, p.from = o.def, a.Address
	if len(o.def.Addresses) > 0 {
		p.from = o.def.Addresses[0]
	}
	p.fillSender()
	return nil
}

// fillSender makes the From: field added to a message without one the
// envelope sender chosen by -f.
func (p *plan) fillSender() {
	if p.fillFrom == "" {
		return
	}
	p.fillFrom = p.from
	if i := strings.LastIndexByte(p.from, '@'); i >= 0 && i+1 < len(p.from) {
		p.domain = strings.ToLower(p.from[i+1:])
	}
}
