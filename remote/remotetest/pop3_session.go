package remotetest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
)

// pop3Session is the state of one POP3 connection.
type pop3Session struct {
	s      *POP3
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	user   string // from USER, until PASS
	authed bool   // TRANSACTION state: holds the maildrop lock
	// view is the maildrop as it was at login; deleted marks DELE'd
	// messages by index into view.
	view    []*pop3Message
	deleted []bool
}

// maxPOP3Line is the longest command line the server reads.
const maxPOP3Line = 4096

// session serves one connection until QUIT or a broken connection.
func (s *POP3) session(c net.Conn, isTLS bool) {
	ss := &pop3Session{s: s, conn: c, tls: isTLS}
	ss.setConn(c)
	defer ss.unlock()
	if !ss.reply("+OK mailfs test POP3 server ready") {
		return
	}
	for {
		line, err := ss.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !ss.handle(strings.ToUpper(verb), arg) {
			return
		}
	}
}

func (ss *pop3Session) setConn(c net.Conn) {
	ss.conn = c
	ss.r = bufio.NewReaderSize(c, maxPOP3Line)
	ss.w = bufio.NewWriter(c)
}

// readLine reads one command line without its CRLF.
func (ss *pop3Session) readLine() (string, error) {
	line, err := ss.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// reply writes one line and flushes; false when the connection failed.
func (ss *pop3Session) reply(line string) bool {
	ss.w.WriteString(line)
	ss.w.WriteString("\r\n")
	return ss.w.Flush() == nil
}

// unlock releases the maildrop lock without committing deletions.
func (ss *pop3Session) unlock() {
	if !ss.authed {
		return
	}
	ss.authed = false
	ss.s.mu.Lock()
	ss.s.locked = false
	ss.s.mu.Unlock()
}

// handle runs one command; false ends the session.
func (ss *pop3Session) handle(verb, arg string) bool {
	switch verb {
	case "CAPA":
		return ss.capa()
	case "QUIT":
		if ss.authed {
			ss.commit()
		}
		ss.reply("+OK bye")
		return false
	case "NOOP":
		if !ss.authed {
			return ss.reply("-ERR not logged in")
		}
		return ss.reply("+OK")
	}
	if !ss.authed {
		switch verb {
		case "STLS":
			return ss.stls()
		case "USER":
			if r := ss.needTLS(); r != "" {
				return ss.reply(r)
			}
			ss.user = arg
			return ss.reply("+OK send PASS")
		case "PASS":
			if r := ss.needTLS(); r != "" {
				return ss.reply(r)
			}
			user := ss.user
			ss.user = ""
			return ss.login(user, arg)
		case "AUTH":
			return ss.auth(arg)
		}
		return ss.reply("-ERR unknown command in AUTHORIZATION state")
	}
	switch verb {
	case "STAT":
		n, size := 0, 0
		for i, m := range ss.view {
			if !ss.deleted[i] {
				n++
				size += len(m.data)
			}
		}
		return ss.reply("+OK " + strconv.Itoa(n) + " " + strconv.Itoa(size))
	case "LIST", "UIDL":
		if verb == "UIDL" && ss.s.opts.NoUIDL {
			return ss.reply("-ERR UIDL not supported")
		}
		field := func(m *pop3Message) string {
			if verb == "UIDL" {
				return m.uid
			}
			return strconv.Itoa(len(m.data))
		}
		if arg != "" {
			i, m, bad := ss.message(arg)
			if bad != "" {
				return ss.reply(bad)
			}
			return ss.reply("+OK " + strconv.Itoa(i+1) + " " + field(m))
		}
		ss.w.WriteString("+OK listing follows\r\n")
		for i, m := range ss.view {
			if !ss.deleted[i] {
				ss.w.WriteString(strconv.Itoa(i+1) + " " + field(m) + "\r\n")
			}
		}
		return ss.reply(".")
	case "RETR":
		_, m, bad := ss.message(arg)
		if bad != "" {
			return ss.reply(bad)
		}
		ss.s.retrs.Add(1)
		ss.w.WriteString("+OK " + strconv.Itoa(len(m.data)) + " octets\r\n")
		data := m.data
		if ss.s.dropRetr.Add(-1) >= 0 {
			ss.writeStuffed(data[:len(data)/2])
			ss.w.Flush()
			return false
		}
		ss.s.dropRetr.Store(0)
		ss.writeStuffed(data)
		return ss.endMulti(data)
	case "TOP":
		if ss.s.opts.NoTop {
			return ss.reply("-ERR TOP not supported")
		}
		num, lines, _ := strings.Cut(arg, " ")
		k, err := strconv.Atoi(lines)
		if err != nil || k < 0 {
			return ss.reply("-ERR syntax: TOP msg lines")
		}
		_, m, bad := ss.message(num)
		if bad != "" {
			return ss.reply(bad)
		}
		ss.w.WriteString("+OK top of message follows\r\n")
		data := topOf(m.data, k)
		ss.writeStuffed(data)
		return ss.endMulti(data)
	case "DELE":
		i, _, bad := ss.message(arg)
		if bad != "" {
			return ss.reply(bad)
		}
		ss.deleted[i] = true
		return ss.reply("+OK message " + strconv.Itoa(i+1) + " deleted")
	case "RSET":
		for i := range ss.deleted {
			ss.deleted[i] = false
		}
		return ss.reply("+OK")
	}
	return ss.reply("-ERR unknown command")
}

// capa lists the capabilities for the current state.
func (ss *pop3Session) capa() bool {
	ss.w.WriteString("+OK capability list follows\r\n")
	if !ss.s.opts.NoTop {
		ss.w.WriteString("TOP\r\n")
	}
	if !ss.s.opts.NoUIDL {
		ss.w.WriteString("UIDL\r\n")
	}
	ss.w.WriteString("USER\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n")
	if !ss.s.opts.NoSASL {
		ss.w.WriteString("SASL PLAIN\r\n")
	}
	if ss.s.opts.TLS == TLSStartTLS && !ss.tls && !ss.authed {
		ss.w.WriteString("STLS\r\n")
	}
	ss.w.WriteString("IMPLEMENTATION mailfs-remotetest\r\n")
	return ss.reply(".")
}

// needTLS returns the refusal for a login before STLS, "" when allowed.
func (ss *pop3Session) needTLS() string {
	if ss.s.opts.TLS == TLSStartTLS && !ss.tls {
		return "-ERR [AUTH] plaintext authentication disallowed, use STLS"
	}
	return ""
}

// stls upgrades the connection to TLS.
func (ss *pop3Session) stls() bool {
	if ss.s.opts.TLS != TLSStartTLS || ss.tls {
		return ss.reply("-ERR STLS not available")
	}
	if !ss.reply("+OK begin TLS negotiation") {
		return false
	}
	tc := tls.Server(ss.conn, ss.s.tlsConfig)
	if err := tc.Handshake(); err != nil {
		ss.s.opts.Logger.Printf("pop3: STLS handshake: %v", err)
		return false
	}
	ss.tls = true
	ss.setConn(tc)
	return true
}

// auth runs AUTH PLAIN (RFC 5034).
func (ss *pop3Session) auth(arg string) bool {
	mech, ir, hasIR := strings.Cut(arg, " ")
	if ss.s.opts.NoSASL || !strings.EqualFold(mech, "PLAIN") {
		return ss.reply("-ERR unsupported authentication mechanism")
	}
	if r := ss.needTLS(); r != "" {
		return ss.reply(r)
	}
	if !hasIR {
		if !ss.reply("+ ") {
			return false
		}
		line, err := ss.readLine()
		if err != nil {
			return false
		}
		ir = line
	}
	if ir == "*" {
		return ss.reply("-ERR authentication cancelled")
	}
	if ir == "=" {
		ir = ""
	}
	raw, err := base64.StdEncoding.DecodeString(ir)
	if err != nil {
		return ss.reply("-ERR invalid base64")
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 {
		return ss.reply("-ERR malformed PLAIN response")
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		return ss.reply("-ERR [AUTH] authorization identity refused")
	}
	return ss.login(string(parts[1]), string(parts[2]))
}

// login checks the credentials and takes the maildrop lock.
func (ss *pop3Session) login(user, pass string) bool {
	if user != ss.s.Username || pass != ss.s.Password {
		return ss.reply("-ERR [AUTH] invalid user name or password")
	}
	ss.s.mu.Lock()
	if ss.s.locked {
		ss.s.mu.Unlock()
		return ss.reply("-ERR [IN-USE] maildrop is locked by another session")
	}
	ss.s.locked = true
	ss.view = append([]*pop3Message(nil), ss.s.msgs...)
	ss.s.mu.Unlock()
	ss.authed = true
	ss.deleted = make([]bool, len(ss.view))
	return ss.reply("+OK maildrop locked and ready")
}

// commit removes the deleted messages (the UPDATE state) and releases the
// lock.
func (ss *pop3Session) commit() {
	gone := map[*pop3Message]bool{}
	for i, m := range ss.view {
		if ss.deleted[i] {
			gone[m] = true
		}
	}
	ss.s.mu.Lock()
	kept := ss.s.msgs[:0:0]
	for _, m := range ss.s.msgs {
		if !gone[m] {
			kept = append(kept, m)
		}
	}
	ss.s.msgs = kept
	ss.s.locked = false
	ss.s.mu.Unlock()
	ss.authed = false
}

// message resolves a message number argument; bad is the -ERR reply when
// it names no message of the session.
func (ss *pop3Session) message(arg string) (i int, m *pop3Message, bad string) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil {
		return 0, nil, "-ERR syntax: message number expected"
	}
	if n < 1 || n > len(ss.view) {
		return 0, nil, "-ERR no such message"
	}
	if ss.deleted[n-1] {
		return 0, nil, "-ERR message " + strconv.Itoa(n) + " already deleted"
	}
	return n - 1, ss.view[n-1], ""
}

// writeStuffed writes data dot-stuffed: a "." is added before every line
// that starts with one. A line starts after every LF.
func (ss *pop3Session) writeStuffed(data []byte) {
	lineStart := true
	for len(data) > 0 {
		if lineStart && data[0] == '.' {
			ss.w.WriteByte('.')
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			ss.w.Write(data)
			return
		}
		ss.w.Write(data[:i+1])
		data = data[i+1:]
		lineStart = true
	}
}

// endMulti ends a multi-line answer whose content was data: a CRLF when data
// does not end with one (RFC 1939), then the terminator.
func (ss *pop3Session) endMulti(data []byte) bool {
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		ss.w.WriteString("\r\n")
	}
	return ss.reply(".")
}

// topOf returns the header of msg, the empty line after it and the first
// k lines of its body. A message without an empty line is all header.
func topOf(msg []byte, k int) []byte {
	i := 0
	for i < len(msg) {
		nl := bytes.IndexByte(msg[i:], '\n')
		if nl < 0 {
			return msg
		}
		line := msg[i : i+nl+1]
		i += nl + 1
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			break // the empty line
		}
		if i >= len(msg) {
			return msg
		}
	}
	for ; k > 0 && i < len(msg); k-- {
		nl := bytes.IndexByte(msg[i:], '\n')
		if nl < 0 {
			return msg
		}
		i += nl + 1
	}
	return msg[:i]
}
