package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"mailfs/internal/header"
	"mailfs/remote"
)

// AccountOptions configures the changes an account accepts: what rm does
// and how many removals a minute it allows. The zero value (or nil) moves
// removed messages to the special-use \Trash mailbox, at most
// DefaultMaxDeletes a minute.
type AccountOptions struct {
	// Expunge makes Remove expunge messages (\Deleted and UID EXPUNGE)
	// instead of moving them to Trash (config: delete = "expunge").
	Expunge bool
	// TrashFolder is the mailbox Remove moves messages to; "" means the
	// mailbox with the special-use attribute \Trash (config:
	// trash_folder).
	TrashFolder string
	// MaxDeletes is how many messages Remove may take out of the account's
	// mailboxes (to Trash or for good) within DeleteWindow; more are
	// refused (config: max_deletes). 0 means DefaultMaxDeletes.
	MaxDeletes int
}

// DefaultMaxDeletes is AccountOptions.MaxDeletes when left zero.
const DefaultMaxDeletes = 100

// Every change an Account makes on the server follows the same steps: the
// store must be a remote.Editor (or remote.Appender) and the server not
// known to be down; the mailboxes involved are locked against their syncs
// (mailbox.syncing), so that a sync that started before the change cannot
// publish a listing from before it; the server is asked; and only when it
// agreed is the cache changed, at once and without relisting (forget,
// place). A refusal changes nothing in the cache.

// editor returns the account's store as a remote.Editor: an error wrapping
// EACCES when it cannot change mail, or the last failure while the server
// is known to be unreachable.
func (a *Account) editor(op string) (remote.Editor, error) {
	ed, ok := a.store.(remote.Editor)
	if !ok {
		return nil, fmt.Errorf("%s: account %s is read-only: %w", op, a.name, syscall.EACCES)
	}
	if down, cause := a.down(); down {
		return nil, fmt.Errorf("%s: %w", op, cause)
	}
	return ed, nil
}

// served records the outcome of a change on the server: an unreachable
// server starts the offline window, anything else proves it reachable.
func (a *Account) served(mailbox string, err error) {
	if err == nil || !a.noteErr(mailbox, err) {
		a.noteOK()
	}
}

// lockBoxes takes the sync tokens of the named mailboxes (in name order,
// so that two changes never wait for each other) and returns their
// mailboxes and the function that gives the tokens back.
func (a *Account) lockBoxes(ctx context.Context, names ...string) (map[string]*mailbox, func(), error) {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	boxes := make(map[string]*mailbox, len(names))
	var held []*mailbox
	unlock := func() {
		for _, m := range held {
			<-m.syncing
		}
	}
	for _, name := range names {
		m, err := a.box(name)
		if err != nil {
			unlock()
			return nil, nil, err
		}
		select {
		case m.syncing <- struct{}{}:
		case <-ctx.Done():
			unlock()
			return nil, nil, ctx.Err()
		}
		held = append(held, m)
		boxes[name] = m
	}
	return boxes, unlock, nil
}

// listed returns the listing entry of message uid in m and the listing's
// UIDVALIDITY; an error wrapping remote.ErrNotFound when it is not listed.
func (a *Account) listed(op string, m *mailbox, uid uint32) (remote.MessageInfo, uint32, error) {
	m.publishFixes()
	l := m.snap.Load().listing
	info, ok := l.Find(uid)
	if !ok {
		return remote.MessageInfo{}, 0, fmt.Errorf("%s: not in the listing: %w", op, remote.ErrNotFound)
	}
	return info, l.UIDValidity, nil
}

// changed marks m stale when the server answered that the caller's view of
// it is out of date, so that the next List relists it.
func changed(m *mailbox, err error) {
	if errors.Is(err, remote.ErrUIDValidity) || errors.Is(err, remote.ErrNotFound) {
		m.stale.Store(true)
	}
}

// Remove takes message uid out of mailbox as AccountOptions says: moved to
// Trash, or, in Trash itself or with Expunge, marked \Deleted and expunged
// by UID. Without a Trash mailbox in trash mode it refuses (an error
// wrapping EPERM that names the setting), never expunging instead. On a
// server without UIDPLUS, which cannot expunge one message alone, it moves
// the message to Trash when it can and otherwise fails with
// remote.ErrUnsupported. Each removal counts against MaxDeletes.
func (a *Account) Remove(ctx context.Context, mailbox string, uid uint32) error {
	op := fmt.Sprintf("remove %s/%s/%d", a.name, mailbox, uid)
	ed, err := a.editor(op)
	if err != nil {
		return err
	}
	trash, err := a.trash(ctx, op)
	if err != nil && !a.opts.Expunge {
		return err
	}
	inTrash := trash != "" && trash == mailbox
	expunge := a.opts.Expunge || inTrash
	if !expunge && trash == "" {
		return fmt.Errorf("%s: the account has no Trash folder (no mailbox has the \\Trash attribute): "+
			"set trash_folder, or delete = \"expunge\", in its [accounts.imap] (or mkdir a Trash folder and name it there): %w", op, syscall.EPERM)
	}
	done, err := a.guard.take(a, op)
	if err != nil {
		return err
	}
	if expunge {
		err = a.expunge(ctx, ed, op, mailbox, uid)
		if errors.Is(err, remote.ErrUnsupported) && !inTrash && trash != "" {
			a.c.log.Warn("server cannot expunge one message (no UIDPLUS); moving it to Trash instead",
				"account", a.name, "mailbox", mailbox, "uid", uid, "trash", trash)
			_, err = a.move(ctx, ed, op, mailbox, uid, trash)
		}
	} else {
		_, err = a.move(ctx, ed, op, mailbox, uid, trash)
	}
	done(err == nil)
	return err
}

// TrashFolder returns the name of the mailbox Remove moves messages to:
// trash_folder, else the one with the \Trash attribute; "" when there is
// none.
func (a *Account) TrashFolder(ctx context.Context) (string, error) {
	return a.trash(ctx, "find the Trash folder of "+a.name)
}

// trash returns the name of the account's Trash mailbox, "" when it has
// none. A configured trash_folder that is not a mailbox is an error
// (EPERM) that says so.
func (a *Account) trash(ctx context.Context, op string) (string, error) {
	mboxes, err := a.Mailboxes(ctx, time.Hour)
	if err != nil {
		return "", fmt.Errorf("%s: find the Trash folder: %w", op, err)
	}
	if t := a.opts.TrashFolder; t != "" {
		if !slices.ContainsFunc(mboxes, func(m remote.Mailbox) bool { return m.Name == t && m.Selectable() }) {
			return "", fmt.Errorf("%s: trash_folder %q is not a mailbox of the account: create it or correct trash_folder in its [accounts.imap]: %w", op, t, syscall.EPERM)
		}
		return t, nil
	}
	for _, m := range mboxes {
		if m.HasAttr(`\Trash`) && m.Selectable() {
			return m.Name, nil
		}
	}
	return "", nil
}

// expunge removes message uid of mailbox for good.
func (a *Account) expunge(ctx context.Context, ed remote.Editor, op, mailbox string, uid uint32) error {
	return a.changeMessage(ctx, op, mailbox, uid, "", func(boxes boxSet, _ remote.MessageInfo, uidValidity uint32) error {
		if err := ed.Expunge(ctx, mailbox, uidValidity, uid); err != nil {
			return err
		}
		a.forget(boxes[mailbox], uidValidity, uid)
		return nil
	})
}

// boxSet is the mailboxes a change locked, by name.
type boxSet = map[string]*mailbox

// changeMessage runs change, which asks the server to change message uid
// of mailbox and, when it agreed, changes the cache: with mailbox (and
// also, when not "") locked against syncs, given their mailboxes and the
// message's listing entry and UIDVALIDITY. It records how the server
// answered (served, changed) and wraps change's error with op.
func (a *Account) changeMessage(ctx context.Context, op, mailbox string, uid uint32, also string,
	change func(boxes boxSet, info remote.MessageInfo, uidValidity uint32) error) error {
	names := []string{mailbox}
	if also != "" {
		names = append(names, also)
	}
	boxes, unlock, err := a.lockBoxes(ctx, names...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer unlock()
	m := boxes[mailbox]
	info, uidValidity, err := a.listed(op, m, uid)
	if err != nil {
		return err
	}
	err = change(boxes, info, uidValidity)
	a.served(mailbox, err)
	if err != nil {
		changed(m, err)
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Move moves message uid from mailbox from to mailbox to and returns its
// UID there (0 when the server did not say; the target is then relisted
// at its next List). A move into Trash counts against MaxDeletes, as rm
// does. The message leaves from's listing and enters to's at
// once, and its cached body goes with it.
func (a *Account) Move(ctx context.Context, from string, uid uint32, to string) (uint32, error) {
	op := fmt.Sprintf("move %s/%s/%d to %s", a.name, from, uid, to)
	ed, err := a.editor(op)
	if err != nil {
		return 0, err
	}
	// mv into Trash is a removal too: the guard counts it.
	if trash, _ := a.trash(ctx, op); trash != "" && to == trash && from != trash {
		done, err := a.guard.take(a, op)
		if err != nil {
			return 0, err
		}
		uid, err := a.move(ctx, ed, op, from, uid, to)
		done(err == nil)
		return uid, err
	}
	return a.move(ctx, ed, op, from, uid, to)
}

func (a *Account) move(ctx context.Context, ed remote.Editor, op, from string, uid uint32, to string) (uint32, error) {
	var placed remote.Placed
	err := a.changeMessage(ctx, op, from, uid, to, func(boxes boxSet, info remote.MessageInfo, uidValidity uint32) error {
		src, dst := boxes[from], boxes[to]
		var err error
		placed, err = ed.Move(ctx, from, uidValidity, uid, to)
		if err != nil {
			if placed.Known() {
				// The copy is made but the original stayed (a COPY whose
				// STORE or EXPUNGE failed): both mailboxes are relisted.
				src.stale.Store(true)
				dst.stale.Store(true)
			}
			return err
		}
		body, _ := os.Open(a.c.bodyPath(a.name, from, uidValidity, uid))
		a.place(dst, placed, info, body)
		if body != nil {
			body.Close()
		}
		a.forget(src, uidValidity, uid)
		return nil
	})
	return placed.UID, err
}

// SetFlags replaces the flags of message uid in mailbox with flags
// (remote.NormalizeFlags: an error wrapping remote.ErrInvalid for one
// that is not an IMAP flag).
func (a *Account) SetFlags(ctx context.Context, mailbox string, uid uint32, flags []string) error {
	op := fmt.Sprintf("set flags of %s/%s/%d", a.name, mailbox, uid)
	flags, err := remote.NormalizeFlags(flags)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ed, err := a.editor(op)
	if err != nil {
		return err
	}
	return a.changeMessage(ctx, op, mailbox, uid, "", func(boxes boxSet, _ remote.MessageInfo, uidValidity uint32) error {
		if err := ed.SetFlags(ctx, mailbox, uidValidity, uid, flags); err != nil {
			return err
		}
		a.update(boxes[mailbox], uidValidity, func(msgs []remote.MessageInfo, ch *folderChange) []remote.MessageInfo {
			if i, ok := (&remote.Listing{Messages: msgs}).Index(uid); ok {
				msgs[i].Flags = a.c.intern.flagSet(flags)
				ch.put = append(ch.put, msgs[i])
			}
			return msgs
		})
		return nil
	})
}

// Append stores the size bytes of msg in mailbox (APPEND) with flags and
// its Date: as INTERNALDATE (the server's clock when it has none that
// parses), and returns its UID (0 when the server did not say; the mailbox
// is then relisted at its next List). What is not a message
// (header.Check), or a flag that is not an IMAP flag
// (remote.NormalizeFlags), gives an error wrapping remote.ErrInvalid, and
// nothing is appended.
func (a *Account) Append(ctx context.Context, mailbox string, msg io.ReaderAt, size int64, flags []string) (uint32, error) {
	op := fmt.Sprintf("append to %s/%s", a.name, mailbox)
	flags, err := remote.NormalizeFlags(flags)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	hb, err := header.Read(io.NewSectionReader(msg, 0, size))
	if err != nil {
		return 0, fmt.Errorf("%s: read the message: %w", op, err)
	}
	if err := header.Check(hb); err != nil {
		return 0, fmt.Errorf("%s: %w: %w", op, remote.ErrInvalid, err)
	}
	app, ok := a.store.(remote.Appender)
	if !ok {
		return 0, fmt.Errorf("%s: account %s is read-only: %w", op, a.name, syscall.EACCES)
	}
	if down, cause := a.down(); down {
		return 0, fmt.Errorf("%s: %w", op, cause)
	}
	date, err := header.Parse(hb).Date()
	if err != nil {
		date = time.Time{}
	}
	boxes, unlock, err := a.lockBoxes(ctx, mailbox)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	defer unlock()
	m := boxes[mailbox]
	placed, err := app.Append(ctx, mailbox, flags, date, io.NewSectionReader(msg, 0, size), size)
	a.served(mailbox, err)
	if err != nil {
		m.stale.Store(true) // a connection lost after the literal may have stored it
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	// The listing entry comes from the server, not from the file: the
	// server decides the size (line endings) and the zone of INTERNALDATE,
	// which the file name shows.
	info, ok := a.fetchInfo(ctx, m, placed)
	if ok {
		a.place(m, placed, info, io.NewSectionReader(msg, 0, size))
	} else {
		h := header.Parse(hb)
		m.expectOwn(a, remote.MessageInfo{Subject: h.Subject(), MessageID: h.MessageID()})
	}
	return placed.UID, nil
}

// fetchInfo asks the server for the listing entry of the message it just
// placed in m; ok is false when it cannot tell.
func (a *Account) fetchInfo(ctx context.Context, m *mailbox, p remote.Placed) (info remote.MessageInfo, ok bool) {
	if !p.Known() {
		return info, false
	}
	err := a.store.Messages(ctx, m.name, p.UIDValidity, p.UID, func(mi remote.MessageInfo) error {
		if mi.UID == p.UID {
			info, ok = mi, true
		}
		return nil
	})
	if err != nil {
		a.c.log.Debug("cannot list the appended message; relisting later", "account", a.name, "mailbox", m.name, "uid", p.UID, "err", err)
		return info, false
	}
	return info, ok
}

// forget removes message uid from m's listing, records and body, after the
// server removed it.
func (a *Account) forget(m *mailbox, uidValidity, uid uint32) {
	a.update(m, uidValidity, func(msgs []remote.MessageInfo, ch *folderChange) []remote.MessageInfo {
		i, ok := (&remote.Listing{Messages: msgs}).Index(uid)
		if !ok {
			return msgs
		}
		ch.del = append(ch.del, uid)
		return slices.Delete(msgs, i, i+1)
	})
	a.c.removeBodies(a.c.bodyPath(a.name, m.name, uidValidity, uid))
}

// place adds the message the server put at p in m, with the listing entry
// info (its UID aside), to m's listing, and its body to the cache when
// body (may be nil) has the listed size. When p is unknown or not of m's
// listing, m is relisted at its next List instead.
func (a *Account) place(m *mailbox, p remote.Placed, info remote.MessageInfo, body io.Reader) {
	if !p.Known() {
		m.expectOwn(a, info)
		return
	}
	info.UID = p.UID
	info = a.c.intern.message(info)
	if !a.update(m, p.UIDValidity, func(msgs []remote.MessageInfo, ch *folderChange) []remote.MessageInfo {
		i, ok := (&remote.Listing{Messages: msgs}).Index(p.UID)
		if ok {
			return msgs
		}
		ch.put = append(ch.put, info)
		return slices.Insert(msgs, i, info)
	}) || body == nil {
		return
	}
	if err := os.MkdirAll(a.c.validityDir(a.name, m.name, p.UIDValidity), 0o700); err != nil {
		return
	}
	path := a.c.bodyPath(a.name, m.name, p.UIDValidity, p.UID)
	if n, err := a.c.writeBody(path, io.LimitReader(body, info.Size+1)); err == nil && n != info.Size {
		a.c.removeBodies(path) // the server changed the bytes (line endings): fetch its own
	}
}

// update publishes the listing edit returns from a copy of m's listing,
// and stores the changes it records in ch, when m's listing is of
// uidValidity; otherwise it marks m stale and reports false. A failure to
// store is logged and marks m stale: the server has changed, so the
// listing in memory shows it anyway, and the next sync repairs the
// records.
func (a *Account) update(m *mailbox, uidValidity uint32, edit func([]remote.MessageInfo, *folderChange) []remote.MessageInfo) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishFixesLocked()
	s := m.snap.Load()
	if s.listing == nil || s.listing.UIDValidity != uidValidity {
		m.stale.Store(true)
		return false
	}
	var ch folderChange
	msgs := edit(slices.Clone(s.listing.Messages), &ch)
	if len(ch.put) == 0 && len(ch.del) == 0 {
		return true
	}
	if err := a.c.writeFolder(a.name, m.name, ch); err != nil {
		a.c.log.Warn("cannot record a change in the cache; relisting the mailbox", "account", a.name, "mailbox", m.name, "err", err)
		m.stale.Store(true)
	}
	m.snap.Store(&snapshot{state: s.state, listing: &remote.Listing{UIDValidity: uidValidity, Messages: msgs}})
	return true
}

// isInbox reports whether name is INBOX, which IMAP spells in any case.
func isInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// ownTTL is how long a message this Account put in a mailbox without
// learning its UID is waited for, so that the sync that finds it does not
// report it as new mail.
const ownTTL = 10 * time.Minute

// ownMark is a message this Account put in a mailbox without learning its
// UID (no UIDPLUS).
type ownMark struct {
	messageID, subject string
	until              time.Time
}

// expectOwn marks m for relisting and records that the message info (its
// Message-ID and Subject) was put there by this Account: the sync that
// finds it reports it as no change (ownAdded).
func (m *mailbox) expectOwn(a *Account, info remote.MessageInfo) {
	m.mu.Lock()
	m.own = append(m.own, ownMark{messageID: info.MessageID, subject: info.Subject, until: a.c.now().Add(ownTTL)})
	m.mu.Unlock()
	m.stale.Store(true)
}

// dropOwn removes from ch.Added the messages this Account put in m itself
// (expectOwn), each mark matching once. m.mu is held.
func (m *mailbox) dropOwn(now time.Time, ch *remote.Change) {
	if len(m.own) == 0 {
		return
	}
	m.own = slices.DeleteFunc(m.own, func(o ownMark) bool { return now.After(o.until) })
	ch.Added = slices.DeleteFunc(ch.Added, func(mi remote.MessageInfo) bool {
		i := slices.IndexFunc(m.own, func(o ownMark) bool {
			if o.messageID != "" && mi.MessageID != "" {
				return o.messageID == mi.MessageID
			}
			return o.subject == mi.Subject
		})
		if i < 0 {
			return false
		}
		m.own = slices.Delete(m.own, i, i+1)
		return true
	})
}
