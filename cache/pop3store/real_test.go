package pop3store

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/pop3"
	"mailfs/remote/remotetest"
)

// realEnv is a store on the real POP3 client and the in-process server.
type realEnv struct {
	*env
	srv *remotetest.POP3
}

func newRealEnv(t *testing.T, leave bool) *realEnv {
	t.Helper()
	srv := remotetest.NewPOP3(t, &remotetest.POP3Options{TLS: remotetest.TLSImplicit})
	client := pop3.New(&pop3.Options{Server: remote.Server{
		Account: "real", Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSImplicit,
		TLSConfig:   &tls.Config{RootCAs: srv.CA.Pool},
		Username:    srv.Username,
		Password:    func(context.Context) (string, error) { return srv.Password, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "store"), clock: newClock(), leave: leave}
	s, err := Open(&Options{
		Dir: e.dir, Account: "real", Downloader: client, LeaveOnServer: leave,
		PollWait: time.Minute, Logger: testLogger(t), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	t.Cleanup(func() { s.Close() })
	return &realEnv{env: e, srv: srv}
}

func TestRealServerDownloadAndDelete(t *testing.T) {
	for _, leave := range []bool{true, false} {
		t.Run(fmt.Sprint("leave=", leave), func(t *testing.T) {
			e := newRealEnv(t, leave)
			// Dot-stuffing and a long line must survive byte for byte.
			tricky := "Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nx" + string(make([]byte, 5000)) + "\r\n"
			want := map[string]string{}
			for _, body := range []string{sample("one"), sample("two"), tricky} {
				want[e.srv.Add([]byte(body))] = body
			}
			e.mustPoll()
			e.mustPoll()
			e.checkInbox(want)
			if got := e.srv.Retrs(); got != 3 {
				t.Errorf("RETR count: got %d, want 3", got)
			}
			if got, wantN := len(e.srv.Messages()), map[bool]int{true: 3, false: 0}[leave]; got != wantN {
				t.Errorf("server holds %d messages, want %d", got, wantN)
			}
			if leave {
				if err := e.s.Remove(t.Context(), Inbox, 1); err != nil {
					t.Fatal(err)
				}
				e.mustPoll()
				if got := len(e.srv.Messages()); got != 2 {
					t.Errorf("after rm and a session, server holds %d messages, want 2", got)
				}
			}
		})
	}
}

func TestRealServerDropMidRetrAndDown(t *testing.T) {
	e := newRealEnv(t, false)
	big := "Subject: big\r\n\r\n" + string(make([]byte, 200000)) + "\r\n"
	want := map[string]string{e.srv.Add([]byte(sample("one"))): sample("one"), e.srv.Add([]byte(big)): big}
	e.srv.DropDuringRetr(1)
	if err := e.poll(); err == nil {
		t.Fatal("Poll with a dropped RETR succeeded")
	}
	if got := len(e.list(Inbox).Messages); got > 1 {
		t.Fatalf("%d messages stored after a drop of the first RETR", got)
	}
	e.files()
	e.srv.SetDown(true)
	e.clock.Add(time.Hour)
	if _, err := e.s.List(t.Context(), Inbox, time.Second); err != nil {
		t.Errorf("List with the server down: %v", err)
	}
	e.srv.SetDown(false)
	e.mustPoll()
	e.checkInbox(want)
	if got := len(e.srv.Messages()); got != 0 {
		t.Errorf("server holds %d messages, want 0", got)
	}
}
