package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// faultRelay is a line-aware TCP relay between mailfs and an IMAP server
// that breaks chosen commands the way real servers and networks do: a
// connection reset (RST) in the middle of a body literal, and a tagged
// NO [SERVERBUG] for a listing. A mailbox is named by the last EXAMINE or
// SELECT of the connection; every other byte passes unchanged.
type faultRelay struct {
	target string
	ln     net.Listener
	// resetBox has every body fetch (BODY.PEEK[]) reset by the relay
	// after the first lines of the first body literal.
	resetBox string
	// bugBox has every listing (UID FETCH with HEADER.FIELDS) answered
	// NO [SERVERBUG] (the server's untagged data passes; its OK does not).
	bugBox string

	resets atomic.Int32 // connections reset mid-literal
	bugs   atomic.Int32 // commands answered NO [SERVERBUG]

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn // every connection, closed by close; guarded by mu
}

// serverBugReply is Dovecot's answer to a command that hit an internal
// error, RFC 5530's SERVERBUG.
const serverBugReply = "NO [SERVERBUG] Internal error occurred. Refer to server log for more information."

func newFaultRelay(t *testing.T, target, resetBox, bugBox string) *faultRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &faultRelay{target: target, ln: ln, resetBox: resetBox, bugBox: bugBox}
	r.wg.Go(r.accept)
	t.Cleanup(r.close)
	return r
}

func (r *faultRelay) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *faultRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *faultRelay) track(c net.Conn) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *faultRelay) accept() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", r.target)
		if err != nil {
			client.Close()
			continue
		}
		r.track(client)
		r.track(server)
		p := &relayPair{r: r, client: client.(*net.TCPConn), server: server, faults: map[string]string{}}
		r.wg.Go(p.fromClient)
		r.wg.Go(p.fromServer)
	}
}

// relayPair is one relayed connection. faults maps the tag of a command
// in flight to the fault it gets ("reset" or "serverbug").
type relayPair struct {
	r      *faultRelay
	client *net.TCPConn
	server net.Conn

	mu     sync.Mutex
	faults map[string]string // guarded by mu
}

// mailboxArg returns the mailbox of an EXAMINE or SELECT command line
// ("TAG EXAMINE NAME"), unquoted, and whether the line is one.
func mailboxArg(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return "", false
	}
	switch strings.ToUpper(f[1]) {
	case "EXAMINE", "SELECT":
		return strings.Trim(f[2], `"`), true
	}
	return "", false
}

// fromClient passes the client's lines on, noting which commands are to
// fail. It records a fault before the command reaches the server, so the
// answer always finds it.
func (p *relayPair) fromClient() {
	defer p.server.Close()
	br := bufio.NewReader(p.client)
	selected := ""
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if mb, ok := mailboxArg(line); ok {
				selected = mb
			}
			if tag, rest, ok := strings.Cut(line, " "); ok && strings.HasPrefix(strings.ToUpper(rest), "UID FETCH") {
				p.mu.Lock()
				switch {
				case selected == p.r.resetBox && strings.Contains(rest, "BODY.PEEK[]"):
					p.faults[tag] = "reset"
				case selected == p.r.bugBox && strings.Contains(rest, "HEADER.FIELDS"):
					p.faults[tag] = "serverbug"
				}
				p.mu.Unlock()
			}
			if _, werr := p.server.Write([]byte(line)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fromServer passes the server's lines on and applies the faults.
func (p *relayPair) fromServer() {
	defer p.client.Close()
	br := bufio.NewReader(p.server)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			p.mu.Lock()
			resetting := false
			for _, f := range p.faults {
				resetting = resetting || f == "reset"
			}
			tag, _, _ := strings.Cut(line, " ")
			fault := p.faults[tag]
			p.mu.Unlock()
			switch {
			case resetting && strings.HasPrefix(line, "* ") && strings.Contains(line, "BODY[] {"):
				// The literal's announcement and a few lines of the body,
				// time for the client to start reading it, then RST.
				p.client.Write([]byte(line))
				for range 3 {
					if l, err := br.ReadString('\n'); err == nil {
						p.client.Write([]byte(l))
					}
				}
				time.Sleep(100 * time.Millisecond)
				p.client.SetLinger(0)
				p.client.Close()
				p.r.resets.Add(1)
				return
			case fault == "serverbug" && strings.HasPrefix(line, tag+" OK"):
				line = tag + " " + serverBugReply + "\r\n"
				p.r.bugs.Add(1)
			}
			if _, werr := p.client.Write([]byte(line)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// errnoOf returns the errno inside err, 0 when there is none.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// TestConnectionResetMidBodyIsEIO reads a message whose every body fetch is
// cut by a TCP reset in the middle of its literal: os.ReadFile and cat get
// EIO (the README: a lost connection is EIO), never ECONNRESET from the
// socket, and the other folder still reads.
func TestConnectionResetMidBodyIsEIO(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Reset"); err != nil {
		t.Fatal(err)
	}
	body := []byte("Subject: cut\r\n\r\n" + strings.Repeat("a line of a body that is cut by a reset\r\n", 2000))
	if _, err := srv.Append("Reset", body, nil, time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	good := []byte("Subject: fine\r\n\r\nthis one reads\r\n")
	if _, err := srv.Append("INBOX", good, nil, time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	relay := newFaultRelay(t, srv.Addr, "Reset", "")
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", imapConfigPort(t, srv, relay.port(), t.TempDir()), mnt)

	dir := filepath.Join(mnt, "test", "Reset")
	names := listEML(t, dir)
	if len(names) != 1 {
		t.Fatalf("%s lists %v, want one message", dir, names)
	}
	path := filepath.Join(dir, names[0])
	_, err := os.ReadFile(path)
	if got := errnoOf(err); got != syscall.EIO {
		t.Fatalf("read %s with every body fetch reset: got %v (errno %d), want EIO; log:\n%s", names[0], err, got, logs)
	}
	if relay.resets.Load() == 0 {
		t.Fatalf("the relay reset no connection: the test did not test a reset")
	}
	var stderr bytes.Buffer
	cat := exec.Command("cat", path)
	cat.Stderr = &stderr
	if err := cat.Run(); err == nil || !strings.Contains(stderr.String(), "Input/output error") {
		t.Errorf("cat %s: %v, stderr %q; want it to fail with Input/output error", names[0], err, stderr.String())
	}
	if strings.Contains(stderr.String(), "reset by peer") {
		t.Errorf("cat reports the socket's errno: %q", stderr.String())
	}
	if !strings.Contains(logs.String(), "connection reset by peer") {
		t.Errorf("the log does not say why the read failed (connection reset by peer):\n%s", logs)
	}
}

// TestServerBugListingIsEIO lists a folder whose listing the server
// answers NO [SERVERBUG] (RFC 5530: the server is in trouble, not the
// user refused): ls gets EIO, not EACCES, and the log has the server's
// words.
func TestServerBugListingIsEIO(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Broken"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Append("Broken", []byte("Subject: x\r\n\r\nx\r\n"), nil, time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	relay := newFaultRelay(t, srv.Addr, "", "Broken")
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", imapConfigPort(t, srv, relay.port(), t.TempDir()), mnt)

	if _, err := os.ReadDir(filepath.Join(mnt, "test", "INBOX")); err != nil {
		t.Fatalf("ls INBOX: %v", err)
	}
	_, err := os.ReadDir(filepath.Join(mnt, "test", "Broken"))
	if got := errnoOf(err); got != syscall.EIO {
		t.Fatalf("ls of a folder answered NO [SERVERBUG]: got %v (errno %d), want EIO; log:\n%s", err, got, logs)
	}
	if relay.bugs.Load() == 0 {
		t.Fatalf("the relay answered no command with SERVERBUG: the test did not test it")
	}
	if !strings.Contains(logs.String(), "SERVERBUG") {
		t.Errorf("the log does not carry the server's words (SERVERBUG):\n%s", logs)
	}
	if _, err := os.ReadDir(filepath.Join(mnt, "test", "INBOX")); err != nil {
		t.Errorf("ls INBOX after the broken folder: %v", err)
	}
}
