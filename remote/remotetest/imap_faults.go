package remotetest

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// The IMAP server's sessions are imapmemserver's with a layer on top (this
// file) that counts the commands, refuses those a test asked to refuse,
// takes MOVE and UIDPLUS away when asked, enforces read-only selections
// and gives RENAME its RFC 9051 meaning for the mailboxes under the
// renamed one. The helpers' own connections (Flags, Body, UIDs…) are
// neither counted nor refused.

// Count returns how many commands of the given name the server has
// received from clients (the helpers' connections aside), whatever their
// answer: OK, NO (Refuse) or BAD. Names are those a client sends, in upper
// case: "SELECT", "EXAMINE", "FETCH" and "UID FETCH", "STORE" and
// "UID STORE", "COPY" and "UID COPY", "MOVE" and "UID MOVE", "EXPUNGE"
// (plain EXPUNGE, and the implicit one of CLOSE) and "UID EXPUNGE",
// "APPEND", "CREATE", "DELETE", "RENAME", "IDLE". IDLE is counted (and
// refused) once the server has sent its continuation: imapserver sends it
// before the session sees the command, so a refused IDLE is answered NO
// when the client ends it with DONE.
func (s *IMAP) Count(command string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.ToUpper(command)]
}

// ReadWriteFetches returns how many FETCH commands (UID FETCH included)
// clients sent while their mailbox was selected read-write (SELECT rather
// than EXAMINE), where a careless FETCH would set \Seen.
func (s *IMAP) ReadWriteFetches() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rwFetch
}

// Refuse makes the server answer every later command named command (as
// Count names them) with NO [code] text, changing nothing, until Allow. A
// name without "UID " refuses the UID form too: Refuse("COPY", …) refuses
// COPY and UID COPY. code may be empty (a NO without a code), such as
// "OVERQUOTA", "CANNOT", "NOPERM", "HASCHILDREN".
func (s *IMAP) Refuse(command, code, text string) {
	if text == "" {
		text = "Refused by the test server"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals[strings.ToUpper(command)] = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode(code), Text: text}
}

// Allow ends a Refuse of command.
func (s *IMAP) Allow(command string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refusals, strings.ToUpper(command))
}

// served counts command and returns the refusal a test set for it, nil
// when there is none.
func (s *IMAP) served(command string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[command]++
	if e := s.refusals[command]; e != nil {
		refusal := *e
		return &refusal
	}
	if plain, ok := strings.CutPrefix(command, "UID "); ok {
		if e := s.refusals[plain]; e != nil {
			refusal := *e
			return &refusal
		}
	}
	return nil
}

// errUnknownCommand is the answer of a server that lacks the command.
var errUnknownCommand = &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}

// errReadOnly answers a change to a mailbox opened with EXAMINE. Dovecot
// says OK and ignores STORE and EXPUNGE there; the test server refuses, so
// that a client that changes mail after EXAMINE fails loudly.
var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox is read-only"}

// session is one connection's session.
type session struct {
	imapserver.SessionIMAP4rev2 // imapmemserver's session
	srv                         *IMAP
	helper                      bool // a helper's connection: not counted, never refused
	readOnly                    bool // the selected mailbox was opened with EXAMINE
	readWrite                   bool // the selected mailbox was opened with SELECT
}

// The session always has MOVE: without the capability it answers BAD.
var _ imapserver.SessionIMAP4rev2 = (*session)(nil)

func (s *IMAP) newSession(mem *imapmemserver.Server) *session {
	return &session{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), srv: s}
}

// begin counts command and returns its refusal, if any.
func (sess *session) begin(command string) error {
	if sess.helper {
		return nil
	}
	return sess.srv.served(command)
}

// uidName is the name of command in the form numSet says: "UID COPY" for a
// set of UIDs, "COPY" for sequence numbers.
func uidName(command string, numSet imap.NumSet) string {
	if _, ok := numSet.(imap.UIDSet); ok {
		return "UID " + command
	}
	return command
}

func (sess *session) Login(username, password string) error {
	if password == sess.srv.helperPass {
		sess.helper = true
		password = sess.srv.Password
	}
	return sess.SessionIMAP4rev2.Login(username, password)
}

func (sess *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	// The server has closed the previous mailbox already.
	sess.readOnly, sess.readWrite = false, false
	name := "SELECT"
	if options.ReadOnly {
		name = "EXAMINE"
	}
	if err := sess.begin(name); err != nil {
		return nil, err
	}
	data, err := sess.SessionIMAP4rev2.Select(mailbox, options)
	if err == nil {
		sess.readOnly, sess.readWrite = options.ReadOnly, !options.ReadOnly
	}
	return data, err
}

func (sess *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := sess.begin("IDLE"); err != nil {
		return err
	}
	if sess.srv.noIdle {
		// noIdleConn turns IDLE into an unknown command before the server
		// reads it; this is for a command line it could not see whole.
		return errUnknownCommand
	}
	// imapmemserver's Idle misses an update queued between the server's
	// continuation and the moment Idle registers for updates (it is sent
	// with the next one, or after DONE); polling cannot miss it.
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	for {
		if err := sess.SessionIMAP4rev2.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// idlePoll is how often an IDLE session looks for updates to send.
const idlePoll = 20 * time.Millisecond

func (sess *session) Unselect() error {
	sess.readOnly, sess.readWrite = false, false
	return sess.SessionIMAP4rev2.Unselect()
}

func (sess *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if err := sess.begin(uidName("FETCH", numSet)); err != nil {
		return err
	}
	if sess.readWrite && !sess.helper {
		sess.srv.mu.Lock()
		sess.srv.rwFetch++
		sess.srv.mu.Unlock()
	}
	return sess.SessionIMAP4rev2.Fetch(w, numSet, options)
}

func (sess *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if err := sess.begin(uidName("STORE", numSet)); err != nil {
		return err
	}
	if sess.readOnly {
		return errReadOnly
	}
	return sess.SessionIMAP4rev2.Store(w, numSet, flags, options)
}

func (sess *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	name := "EXPUNGE"
	if uids != nil {
		name = "UID EXPUNGE"
	}
	if err := sess.begin(name); err != nil {
		return err
	}
	if uids != nil && sess.srv.noUIDPlus {
		return errUnknownCommand
	}
	if sess.readOnly {
		return errReadOnly
	}
	return sess.SessionIMAP4rev2.Expunge(w, uids)
}

// matches reports whether numSet names a message of the selected mailbox.
// imapmemserver cannot answer COPY or MOVE of no message (it would send an
// empty COPYUID); the test server answers OK without COPYUID, as Dovecot
// does ("OK No messages found").
func (sess *session) matches(numSet imap.NumSet) bool {
	var criteria imap.SearchCriteria
	switch set := numSet.(type) {
	case imap.UIDSet:
		criteria.UID = []imap.UIDSet{append(imap.UIDSet(nil), set...)}
	case imap.SeqSet:
		criteria.SeqNum = []imap.SeqSet{append(imap.SeqSet(nil), set...)}
	}
	data, err := sess.SessionIMAP4rev2.Search(imapserver.NumKindUID, &criteria, &imap.SearchOptions{})
	return err == nil && data.Count > 0
}

func (sess *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	if err := sess.begin(uidName("COPY", numSet)); err != nil {
		return nil, err
	}
	if !sess.matches(numSet) {
		return nil, nil
	}
	data, err := sess.SessionIMAP4rev2.Copy(numSet, dest)
	if sess.srv.noUIDPlus {
		data = nil // no COPYUID
	}
	return data, err
}

func (sess *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if err := sess.begin(uidName("MOVE", numSet)); err != nil {
		return err
	}
	if sess.srv.noMove {
		return errUnknownCommand
	}
	if sess.readOnly {
		return errReadOnly
	}
	if !sess.matches(numSet) {
		return nil
	}
	if !sess.srv.noUIDPlus {
		return sess.SessionIMAP4rev2.Move(w, numSet, dest)
	}
	// imapmemserver's MOVE always sends COPYUID: without UIDPLUS, move by
	// hand. The EXPUNGE responses reach the client with the update that
	// follows every command.
	data, err := sess.SessionIMAP4rev2.Copy(numSet, dest)
	if err != nil {
		return err
	}
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := sess.SessionIMAP4rev2.Store(nil, append(imap.UIDSet(nil), data.SourceUIDs...), deleted, nil); err != nil {
		return err
	}
	return sess.SessionIMAP4rev2.Expunge(&imapserver.ExpungeWriter{}, &data.SourceUIDs)
}

func (sess *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if err := sess.begin("APPEND"); err != nil {
		return nil, err
	}
	data, err := sess.SessionIMAP4rev2.Append(mailbox, r, options)
	if sess.srv.noUIDPlus {
		data = nil // no APPENDUID
	}
	return data, err
}

func (sess *session) Create(mailbox string, options *imap.CreateOptions) error {
	if err := sess.begin("CREATE"); err != nil {
		return err
	}
	sess.srv.boxMu.Lock()
	defer sess.srv.boxMu.Unlock()
	return sess.srv.createLocked(mailbox, options)
}

func (sess *session) Delete(mailbox string) error {
	if err := sess.begin("DELETE"); err != nil {
		return err
	}
	sess.srv.boxMu.Lock()
	defer sess.srv.boxMu.Unlock()
	return sess.srv.deleteLocked(mailbox)
}

func (sess *session) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	if err := sess.begin("RENAME"); err != nil {
		return err
	}
	sess.srv.boxMu.Lock()
	defer sess.srv.boxMu.Unlock()
	return sess.srv.renameLocked(mailbox, newName, options)
}

// delim is imapmemserver's hierarchy delimiter.
const delim = "/"

// createLocked creates mailbox name. s.boxMu is held.
func (s *IMAP) createLocked(name string, options *imap.CreateOptions) error {
	if err := s.user.Create(name, options); err != nil {
		return err
	}
	s.names[strings.TrimRight(name, delim)] = true
	return nil
}

// deleteLocked deletes mailbox name (the mailboxes under it stay, as in
// Dovecot). s.boxMu is held.
func (s *IMAP) deleteLocked(name string) error {
	if err := s.user.Delete(name); err != nil {
		return err
	}
	delete(s.names, name)
	return nil
}

// renameLocked renames mailbox oldName and, as RFC 9051 wants and unlike
// imapmemserver, the mailboxes under it. s.boxMu is held.
func (s *IMAP) renameLocked(oldName, newName string, options *imap.RenameOptions) error {
	newName = strings.TrimRight(newName, delim)
	var children []string
	for name := range s.names {
		if strings.HasPrefix(name, oldName+delim) {
			children = append(children, name)
		}
	}
	slices.Sort(children)
	if err := s.user.Rename(oldName, newName, options); err != nil {
		return err
	}
	delete(s.names, oldName)
	s.names[newName] = true
	for _, name := range children {
		to := newName + strings.TrimPrefix(name, oldName)
		if err := s.user.Rename(name, to, options); err != nil {
			return err
		}
		delete(s.names, name)
		s.names[to] = true
	}
	return nil
}

// noIdleListener hands out the connections of a NoIdle server as
// noIdleConns.
type noIdleListener struct{ net.Listener }

func (l noIdleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &noIdleConn{Conn: c, readStart: true, writeStart: true}, nil
}

// noIdleConn is a connection of a NoIdle server, between the network (or
// TLS) and imapserver, which advertises IDLE to every IMAP4rev1 client and
// sends IDLE's continuation before a session could refuse it. It takes
// IDLE out of the capability lists the server writes (CAPABILITY
// responses and [CAPABILITY] codes) and turns an IDLE command line into
// an unknown command (XDLE), which the server answers BAD. Both work on
// whole lines within one read or write, which is how go-imap's client and
// server send these.
type noIdleConn struct {
	net.Conn
	readStart, writeStart bool // the next byte starts a line
}

func (c *noIdleConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	for start := 0; start < n; {
		end := bytes.IndexByte(b[start:n], '\n')
		if end < 0 {
			end = n
		} else {
			end += start + 1
		}
		if c.readStart {
			line := b[start:end]
			if tag, cmd, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" ")); ok && len(tag) > 0 && bytes.EqualFold(cmd, []byte("IDLE")) {
				line[len(tag)+1] = 'X' // "IDLE" → "XDLE"
			}
		}
		c.readStart = b[end-1] == '\n'
		start = end
	}
	return n, err
}

func (c *noIdleConn) Write(b []byte) (int, error) {
	var out []byte
	for start := 0; start < len(b); {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start + 1
		}
		line := b[start:end]
		if c.writeStart {
			line = withoutIdle(line)
		}
		out = append(out, line...)
		c.writeStart = b[end-1] == '\n'
		start = end
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// withoutIdle returns line without the IDLE capability when it is a
// CAPABILITY response or a status response with a [CAPABILITY] code, and
// line itself otherwise.
func withoutIdle(line []byte) []byte {
	text := string(line)
	var head, list, tail string
	if rest, ok := strings.CutPrefix(text, "* CAPABILITY "); ok {
		list = strings.TrimRight(rest, "\r\n")
		head, tail = "* CAPABILITY ", rest[len(list):]
	} else {
		words := strings.SplitN(text, " ", 3)
		if len(words) < 3 || !slices.Contains([]string{"OK", "NO", "BAD", "PREAUTH", "BYE"}, strings.ToUpper(words[1])) {
			return line
		}
		rest, ok := strings.CutPrefix(words[2], "[CAPABILITY ")
		end := strings.IndexByte(rest, ']')
		if !ok || end < 0 {
			return line
		}
		head = words[0] + " " + words[1] + " [CAPABILITY "
		list, tail = rest[:end], rest[end:]
	}
	var kept []string
	for _, c := range strings.Split(list, " ") {
		if !strings.EqualFold(c, "IDLE") {
			kept = append(kept, c)
		}
	}
	return []byte(head + strings.Join(kept, " ") + tail)
}
