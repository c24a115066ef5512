package imap

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"mailfs/remote"
)

// fakeServer is a scripted IMAP server for behaviour the in-process server
// cannot show: silence, odd response orders. Each command line goes to
// handle with its tag; handle writes the answer (tagged line included) or
// nothing at all to stay silent.
type fakeServer struct {
	ln       net.Listener
	greeting string // sent on connect; "" sends nothing

	mu       sync.Mutex
	commands []string // every command line received, guarded by mu
}

// newFakeServer starts a fake server on loopback; it stops in t.Cleanup.
func newFakeServer(t *testing.T, greeting string, handle func(w *bufio.Writer, tag, cmd string)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f := &fakeServer{ln: ln, greeting: greeting}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			wg.Go(func() { f.serve(c, handle) })
		}
	})
	return f
}

func (f *fakeServer) serve(c net.Conn, handle func(w *bufio.Writer, tag, cmd string)) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	if f.greeting != "" {
		fmt.Fprintf(w, "%s\r\n", f.greeting)
		w.Flush()
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		tag, cmd, _ := strings.Cut(line, " ")
		f.mu.Lock()
		f.commands = append(f.commands, cmd)
		f.mu.Unlock()
		handle(w, tag, cmd)
		w.Flush()
	}
}

func (f *fakeServer) host() string { return "127.0.0.1" }

func (f *fakeServer) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

// loginHandler answers CAPABILITY and LOGIN and passes every other command
// to next.
func loginHandler(next func(w *bufio.Writer, tag, cmd string)) func(w *bufio.Writer, tag, cmd string) {
	return func(w *bufio.Writer, tag, cmd string) {
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch verb {
		case "CAPABILITY":
			fmt.Fprintf(w, "* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag)
		case "LOGIN":
			fmt.Fprintf(w, "%s OK [CAPABILITY IMAP4rev1] logged in\r\n", tag)
		case "LOGOUT":
			fmt.Fprintf(w, "* BYE\r\n%s OK bye\r\n", tag)
		default:
			next(w, tag, cmd)
		}
	}
}

// fakeStore returns a Store logged in to f as user "u", closed in
// t.Cleanup; edit sets the timeouts a test needs.
func fakeStore(t *testing.T, f *fakeServer, edit func(*remote.Server)) *Store {
	t.Helper()
	srv := remote.Server{
		Host: f.host(), Port: f.port(), TLS: remote.TLSNone, Username: "u", Account: "test",
		Password: func(context.Context) (string, error) { return "p", nil },
	}
	edit(&srv)
	s := New(&Options{Server: srv})
	t.Cleanup(func() { s.Close() })
	return s
}
