package clienterr

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// listen serves each connection with serve on a loopback listener and
// returns its address.
func listen(t *testing.T, l net.Listener, serve func(net.Conn)) string {
	t.Helper()
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return l.Addr().String()
}

func loopback(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAwaitGreetingPlain(t *testing.T) {
	addr := listen(t, loopback(t), func(c net.Conn) {
		io.WriteString(c, "* OK hello\r\n")
		io.Copy(io.Discard, c)
	})
	nc, err := AwaitGreeting(context.Background(), dial(t, addr), 5*time.Second, &GreetingOptions{Addr: addr})
	if err != nil {
		t.Fatalf("got %v, want the greeting", err)
	}
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(nc, buf, len("* OK hello\r\n"))
	if got := string(buf[:n]); got != "* OK hello\r\n" {
		t.Errorf("read %q, want the greeting again", got)
	}
}

func TestAwaitGreetingTLSRecord(t *testing.T) {
	addr := listen(t, loopback(t), func(c net.Conn) {
		c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x10})
		io.Copy(io.Discard, c)
	})
	_, err := AwaitGreeting(context.Background(), dial(t, addr), 5*time.Second, nil)
	var e *TLSAtOnceError
	if !errors.As(err, &e) || e.Silent != 0 {
		t.Fatalf("got %v, want a TLSAtOnceError for the first bytes", err)
	}
}

// TestAwaitGreetingTLSServer: a real TLS server says nothing; the probe
// finds it within the silence and a bit.
func TestAwaitGreetingTLSServer(t *testing.T) {
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	addr := listen(t, tls.NewListener(loopback(t), ca.ServerConfig()), func(c net.Conn) {
		c.(*tls.Conn).Handshake()
		io.Copy(io.Discard, c)
	})
	start := time.Now()
	_, err = AwaitGreeting(context.Background(), dial(t, addr), time.Minute,
		&GreetingOptions{Addr: addr, ServerName: "127.0.0.1", Silence: 200 * time.Millisecond})
	var e *TLSAtOnceError
	if !errors.As(err, &e) || e.Silent == 0 {
		t.Fatalf("got %v, want a TLSAtOnceError after silence", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s, want well under 5s", took)
	}
}

// TestAwaitGreetingSlowPlain: a plain server that greets late (after the
// silence) is not taken for a TLS one: its probe connection gets the
// greeting too, which is no TLS answer.
func TestAwaitGreetingSlowPlain(t *testing.T) {
	addr := listen(t, loopback(t), func(c net.Conn) {
		time.Sleep(400 * time.Millisecond)
		io.WriteString(c, "220 late\r\n")
		io.Copy(io.Discard, c)
	})
	nc, err := AwaitGreeting(context.Background(), dial(t, addr), 5*time.Second,
		&GreetingOptions{Addr: addr, Silence: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("got %v, want the late greeting", err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != "220" {
		t.Errorf("read %q, %v, want 220", buf, err)
	}
}

func TestAwaitGreetingSilentTimeout(t *testing.T) {
	addr := listen(t, loopback(t), func(c net.Conn) { io.Copy(io.Discard, c) })
	_, err := AwaitGreeting(context.Background(), dial(t, addr), 300*time.Millisecond,
		&GreetingOptions{Addr: addr, Silence: 100 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestAwaitGreetingCancel(t *testing.T) {
	addr := listen(t, loopback(t), func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := AwaitGreeting(ctx, dial(t, addr), time.Minute, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
