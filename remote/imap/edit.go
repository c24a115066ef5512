package imap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/remote"
)

// Changes to messages. Reads open a mailbox read-only (EXAMINE), so that
// nothing they do can set \Seen; a change needs it read-write (SELECT).
// Every change goes the same way (Store.edit):
//
//  1. the capabilities it needs are checked before anything is sent;
//  2. SELECT, and its UIDVALIDITY compared with the caller's before any
//     command that changes something;
//  3. the change, each step waiting for the one before where a failure
//     must stop what follows;
//  4. the read-write selection is closed, pipelined behind the last
//     command: UNSELECT, or on a server without it an EXAMINE of the same
//     mailbox (selecting closes the previous mailbox without expunging).
//     Never CLOSE, which expunges. A connection that cannot be brought
//     back to read-only is closed, so that no read ever runs on a
//     read-write selection.
//
// Once a changing command has been sent, a failure is not retried on
// another connection (the change may have been made).

var _ remote.Editor = (*Store)(nil)

// hasMove reports whether the server has MOVE (RFC 6851, in IMAP4rev2).
func hasMove(caps imap.CapSet) bool { return caps.Has(imap.CapMove) }

// hasUIDPlus reports whether the server has UID EXPUNGE, COPYUID and
// APPENDUID (RFC 4315, in IMAP4rev2).
func hasUIDPlus(caps imap.CapSet) bool { return caps.Has(imap.CapUIDPlus) }

// hasUnselect reports whether the server has UNSELECT (RFC 3691, in
// IMAP4rev2).
func hasUnselect(caps imap.CapSet) bool { return caps.Has(imap.CapUnselect) }

// deletedFlag marks a message for UID EXPUNGE.
var deletedFlag = &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}

// Move moves message uid from mailbox from to mailbox to: UID MOVE when the
// server has MOVE; otherwise, with UIDPLUS, UID COPY, and only once the
// server has answered OK to it, UID STORE +FLAGS.SILENT (\Deleted) and UID
// EXPUNGE of that one UID. go-imap's own fallback is never used: it sends
// the three commands without waiting, so a failed COPY still deletes, and
// uses a plain EXPUNGE without UIDPLUS. Without MOVE and UIDPLUS it fails
// with remote.ErrUnsupported before sending anything.
//
// The Placed result comes from COPYUID; it is zero when the server did not
// send one. A COPYUID that does not name uid means the message was not
// there: an error wrapping remote.ErrNotFound, and nothing is deleted.
//
// When the fallback's COPY succeeded but its STORE or UID EXPUNGE failed,
// the message is in both mailboxes (in from perhaps marked \Deleted):
// Move returns an error that says so, wrapping the failed step's sentinel,
// together with the Placed of the copy.
func (s *Store) Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (remote.Placed, error) {
	var placed remote.Placed
	needs := func(cn *conn) error {
		if hasMove(cn.caps) || hasUIDPlus(cn.caps) {
			return nil
		}
		return s.newErr(opName("UID MOVE", from), remote.ErrUnsupported,
			"the server has neither MOVE nor UIDPLUS",
			"mailfs removes a message only with UID EXPUNGE, never with a plain EXPUNGE, which would also remove the messages other clients marked \\Deleted; copy the message instead", nil)
	}
	err := s.edit(ctx, "UID MOVE", from, uidValidity, needs, func(cn *conn, l *leaver) error {
		var err error
		if hasMove(cn.caps) {
			placed, err = s.moveUID(cn, l, from, uid, to)
		} else {
			placed, err = s.copyExpunge(cn, l, from, uid, to)
		}
		return err
	})
	return placed, err
}

// moveUID sends UID MOVE.
func (s *Store) moveUID(cn *conn, l *leaver, from string, uid uint32, to string) (remote.Placed, error) {
	if !cn.client.Caps().Has(imap.CapMove) {
		// Client.Move would fall back to COPY, STORE and EXPUNGE.
		return remote.Placed{}, s.newErr(opName("UID MOVE", from), remote.ErrUnsupported, "the client does not see MOVE among the server's capabilities", "", nil)
	}
	cmd := cn.client.Move(imap.UIDSetNum(imap.UID(uid)), to)
	l.start()
	data, err := cmd.Wait()
	if err != nil {
		return remote.Placed{}, s.stepErr("UID MOVE", from, to, err)
	}
	src, _ := data.SourceUIDs.(imap.UIDSet)
	dst, _ := data.DestUIDs.(imap.UIDSet)
	placed, said, ok := placedFrom(uid, data.UIDValidity, src, dst)
	if said && !ok {
		return remote.Placed{}, s.notThere("UID MOVE", from, uid)
	}
	return placed, nil
}

// copyExpunge moves a message on a server without MOVE but with UIDPLUS:
// UID COPY, then (after its OK) UID STORE +FLAGS.SILENT (\Deleted), then
// UID EXPUNGE of that UID alone.
func (s *Store) copyExpunge(cn *conn, l *leaver, from string, uid uint32, to string) (remote.Placed, error) {
	set := imap.UIDSetNum(imap.UID(uid))
	data, err := cn.client.Copy(set, to).Wait()
	if err != nil {
		return remote.Placed{}, s.stepErr("UID COPY", from, to, err)
	}
	placed, said, ok := placedFrom(uid, data.UIDValidity, data.SourceUIDs, data.DestUIDs)
	if said && !ok {
		return remote.Placed{}, s.notThere("UID COPY", from, uid)
	}
	if err := cn.client.Store(set, deletedFlag, nil).Close(); err != nil {
		return placed, s.inBoth(cn, "UID STORE +FLAGS.SILENT (\\Deleted)", from, uid, to, placed, false, err)
	}
	exp := cn.client.UIDExpunge(set)
	l.start()
	if err := exp.Close(); err != nil {
		return placed, s.inBoth(cn, "UID EXPUNGE", from, uid, to, placed, true, err)
	}
	return placed, nil
}

// inBoth is the error of a fallback move whose COPY succeeded and whose
// step failed with err: the message is in both mailboxes.
func (s *Store) inBoth(cn *conn, step, from string, uid uint32, to string, placed remote.Placed, deleted bool, err error) error {
	kind := remote.ErrUnavailable
	words := "connection failed: " + err.Error()
	var ie *imap.Error
	if errors.As(err, &ie) {
		kind, words = serverErrKind(ie), serverWords(ie)
	} else {
		cn.kill() // returning an OpError keeps do from marking it broken
	}
	where := strconv.Quote(to)
	if placed.Known() {
		where += " as UID " + strconv.FormatUint(uint64(placed.UID), 10)
	}
	state := ""
	if deleted {
		state = ", marked \\Deleted"
	}
	return s.newErr(opName("UID MOVE", from), kind,
		fmt.Sprintf("UID %d was copied to %s, but %s failed (%s): the message is now in both mailboxes (still in %q%s)", uid, where, step, words, from, state),
		"remove the copy you do not want", nil)
}

// Expunge removes message uid from mailbox for good: UID STORE
// +FLAGS.SILENT (\Deleted), then UID EXPUNGE of that UID alone, so that
// messages other clients marked \Deleted stay. Without UIDPLUS it fails
// with remote.ErrUnsupported before sending anything: mailfs never sends
// a plain EXPUNGE. A UID that is not there is not an error.
func (s *Store) Expunge(ctx context.Context, mailbox string, uidValidity, uid uint32) error {
	needs := func(cn *conn) error {
		if hasUIDPlus(cn.caps) {
			return nil
		}
		return s.newErr(opName("UID EXPUNGE", mailbox), remote.ErrUnsupported,
			"the server has no UIDPLUS, so no UID EXPUNGE",
			"a plain EXPUNGE would also remove every message other clients marked \\Deleted, and mailfs never sends one; move the message to Trash instead", nil)
	}
	return s.edit(ctx, "UID EXPUNGE", mailbox, uidValidity, needs, func(cn *conn, l *leaver) error {
		set := imap.UIDSetNum(imap.UID(uid))
		if err := cn.client.Store(set, deletedFlag, nil).Close(); err != nil {
			return s.stepErr("UID STORE +FLAGS.SILENT (\\Deleted)", mailbox, "", err)
		}
		exp := cn.client.UIDExpunge(set)
		l.start()
		if err := exp.Close(); err != nil {
			return s.stepErr("UID EXPUNGE", mailbox, "", err)
		}
		return nil
	})
}

// SetFlags replaces the flags of message uid with exactly flags (UID
// STORE FLAGS.SILENT; an empty set clears them). Flags that are not IMAP
// flags, and \Recent, fail with remote.ErrInvalid (remote.NormalizeFlags)
// before anything is sent: go-imap would close the connection over them. A
// UID that is not there is not an error.
func (s *Store) SetFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, flags []string) error {
	clean, err := remote.NormalizeFlags(flags)
	if err != nil {
		return s.newErr(opName("UID STORE FLAGS", mailbox), remote.ErrInvalid, strings.TrimSuffix(err.Error(), ": "+remote.ErrInvalid.Error()), "", nil)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: make([]imap.Flag, len(clean))}
	for i, f := range clean {
		store.Flags[i] = imap.Flag(f)
	}
	return s.edit(ctx, "UID STORE FLAGS", mailbox, uidValidity, nil, func(cn *conn, l *leaver) error {
		cmd := cn.client.Store(imap.UIDSetNum(imap.UID(uid)), store, nil)
		l.start()
		if err := cmd.Close(); err != nil {
			return s.stepErr("UID STORE FLAGS", mailbox, "", err)
		}
		return nil
	})
}

// edit runs change on a connection with mailbox selected read-write and
// its UIDVALIDITY checked, after needs (nil: nothing) found the server's
// capabilities sufficient, and leaves the connection read-only or with
// nothing selected.
func (s *Store) edit(ctx context.Context, op, mailbox string, uidValidity uint32, needs func(*conn) error, change func(*conn, *leaver) error) error {
	return s.do(ctx, op, mailbox, func(cn *conn, called *bool) error {
		if needs != nil {
			if err := needs(cn); err != nil {
				return err
			}
		}
		// From here on the connection has no mailbox open read-only.
		cn.selected = ""
		data, err := cn.client.Select(mailbox, nil).Wait()
		if err != nil {
			// A failed SELECT leaves no mailbox selected.
			return err
		}
		l := &leaver{s: s, cn: cn, mailbox: mailbox}
		defer l.finish()
		if data.UIDValidity != uidValidity {
			return s.newErr(opName(op, mailbox), remote.ErrUIDValidity,
				"UIDVALIDITY is "+strconv.FormatUint(uint64(data.UIDValidity), 10)+", not "+strconv.FormatUint(uint64(uidValidity), 10),
				"the mailbox was recreated: list it again", nil)
		}
		*called = true // a change may be made: never retried
		return change(cn, l)
	})
}

// leaver closes a connection's read-write selection of mailbox. start
// sends the command, so that it can be pipelined behind the last command
// of a change; finish (deferred) sends it if start was not called and
// waits for it.
type leaver struct {
	s       *Store
	cn      *conn
	mailbox string
	unsel   *imapclient.Command       // UNSELECT sent, or
	exam    *imapclient.SelectCommand // EXAMINE sent
}

func (l *leaver) start() {
	if l.unsel != nil || l.exam != nil {
		return
	}
	if hasUnselect(l.cn.caps) {
		l.unsel = l.cn.client.Unselect()
	} else {
		l.exam = l.cn.examine(l.mailbox, false)
	}
}

func (l *leaver) finish() {
	l.start()
	var err error
	if l.unsel != nil {
		err = l.unsel.Wait()
	} else {
		_, err = l.cn.waitExamine(l.exam, l.mailbox)
	}
	if err != nil {
		// The mailbox may still be selected read-write: no read may use
		// this connection.
		l.cn.log.Debug("imap cannot close a read-write selection; dropping the connection", "mailbox", l.mailbox, "err", err)
		l.cn.kill()
	}
}

// stepErr names the command that failed when the server refused it (to,
// when not empty, is the target mailbox); a failure of the connection goes
// to Store.do unchanged, which marks the connection broken.
func (s *Store) stepErr(step, mailbox, to string, err error) error {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return err
	}
	op := opName(step, mailbox)
	if to != "" {
		op += " to " + strconv.Quote(to)
	}
	return s.mapErr(op, err, nil)
}

// notThere is the error of a COPY or MOVE whose COPYUID does not name uid:
// the message is not in mailbox.
func (s *Store) notThere(step, mailbox string, uid uint32) error {
	return s.newErr(opName(step, mailbox), remote.ErrNotFound,
		fmt.Sprintf("the server copied no message with UID %d", uid), "", nil)
}

// placedFrom finds uid's new place in a COPYUID: said reports whether the
// server sent COPYUID at all, ok whether it names uid.
func placedFrom(uid, uidValidity uint32, src, dst imap.UIDSet) (p remote.Placed, said, ok bool) {
	if uidValidity == 0 || len(src) == 0 {
		return remote.Placed{}, false, false
	}
	i, found := uidIndex(src, imap.UID(uid))
	if !found {
		return remote.Placed{}, true, false
	}
	to, found := nthUID(dst, i)
	if !found {
		return remote.Placed{}, true, false
	}
	return remote.Placed{UIDValidity: uidValidity, UID: uint32(to)}, true, true
}

// uidIndex returns the position of uid among the UIDs of set, in the order
// the server listed them (COPYUID pairs its two sets by position).
func uidIndex(set imap.UIDSet, uid imap.UID) (uint64, bool) {
	var n uint64
	for _, r := range set {
		lo, hi := min(r.Start, r.Stop), max(r.Start, r.Stop)
		if uid >= lo && uid <= hi {
			return n + uint64(uid-lo), true
		}
		n += uint64(hi-lo) + 1
	}
	return 0, false
}

// nthUID returns the UID at position i of set.
func nthUID(set imap.UIDSet, i uint64) (imap.UID, bool) {
	for _, r := range set {
		lo, hi := min(r.Start, r.Stop), max(r.Start, r.Stop)
		if size := uint64(hi-lo) + 1; i >= size {
			i -= size
			continue
		}
		return lo + imap.UID(i), true
	}
	return 0, false
}
