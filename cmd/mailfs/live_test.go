package main

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// appearsWithin reads dir at most once a second, as a person or a script
// waiting for mail would, until a file for UID uid shows; it fails the test
// after within. It returns the file's name.
func appearsWithin(t *testing.T, dir string, uid uint32, within time.Duration) string {
	t.Helper()
	suffix := "_" + strconv.FormatUint(uint64(uid), 10) + ".eml"
	deadline := time.Now().Add(within)
	for {
		for _, n := range dirNames(t, dir) {
			if strings.HasSuffix(n, suffix) {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("UID %d not in %s within %v: %v", uid, dir, within, dirNames(t, dir))
		}
		time.Sleep(time.Second)
	}
}

// goneWithin reads dir at most once a second until name is gone.
func goneWithin(t *testing.T, dir, name string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for slices.Contains(dirNames(t, dir), name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still in %s after %v", name, dir, within)
		}
		time.Sleep(time.Second)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
		t.Errorf("stat of the expunged %s: got %v, want ENOENT", name, err)
	}
}

// flagsWithin reads user.mail.flags of path at most once a second until it
// holds flag.
func flagsWithin(t *testing.T, path, flag string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	buf := make([]byte, 256)
	for {
		n, err := syscall.Getxattr(path, "user.mail.flags", buf)
		if err == nil && slices.Contains(strings.Fields(string(buf[:n])), flag) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("user.mail.flags of %s: got %q (%v) after %v, want %s", path, buf[:max(n, 0)], err, within, flag)
		}
		time.Sleep(time.Second)
	}
}

// liveServer is what the live tests do to a server: deliver, flag and
// expunge as other clients would, and drop every connection.
type liveServer interface {
	serverView
	deliver(t *testing.T, msg []byte) uint32
	flag(t *testing.T, uid uint32, flags []string)
	expunge(t *testing.T, uid uint32)
	drop(t *testing.T)
}

type inProcess struct{ *remotetest.IMAP }

func (s inProcess) deliver(t *testing.T, msg []byte) uint32 {
	t.Helper()
	uid, err := s.Append("INBOX", msg, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return uid
}
func (s inProcess) flag(t *testing.T, uid uint32, flags []string) {
	if err := s.SetFlags("INBOX", uid, flags); err != nil {
		t.Fatal(err)
	}
}
func (s inProcess) expunge(t *testing.T, uid uint32) {
	if err := s.View().Expunge("INBOX", uid); err != nil {
		t.Fatal(err)
	}
}
func (s inProcess) drop(t *testing.T) {
	s.SetDown(true)
	time.Sleep(300 * time.Millisecond)
	s.SetDown(false)
}

type dovecotServer struct {
	*remotetest.View
	d *interop.Dovecot
}

func (s dovecotServer) deliver(t *testing.T, msg []byte) uint32 {
	t.Helper()
	before := serverUIDs(t, s, "INBOX")
	s.d.Deliver(t, "alice", "INBOX", msg)
	return onlyNew(t, before, serverUIDs(t, s, "INBOX"))
}
func (s dovecotServer) flag(t *testing.T, uid uint32, flags []string) {
	if err := s.SetFlags("INBOX", uid, flags); err != nil {
		t.Fatal(err)
	}
}
func (s dovecotServer) expunge(t *testing.T, uid uint32) {
	if err := s.Expunge("INBOX", uid); err != nil {
		t.Fatal(err)
	}
}
func (s dovecotServer) drop(t *testing.T) { s.d.Kick(t, "alice") }

// exerciseLive checks that the mount at acct follows INBOX on srv with
// nobody listing it faster than once a second: a delivery shows within 2 s,
// a flag set elsewhere shows in getfattr, an expunge disappears (while a
// reader that opened the file still reads it), and after every connection
// is dropped the next delivery still shows within seconds. out is the file
// the account's new_mail_command appends its "$@" to.
func exerciseLive(t *testing.T, acct string, srv liveServer, out string) {
	inbox := filepath.Join(acct, "INBOX")
	dirNames(t, inbox) // the folder is listed: what follows must come from the server's word

	uid := srv.deliver(t, testMail(1, "Live delivery"))
	name := appearsWithin(t, inbox, uid, 2*time.Second)
	got := mustRead(t, filepath.Join(inbox, name))
	if string(got) != string(testMail(1, "Live delivery")) {
		t.Errorf("the delivered message reads %q", got)
	}
	want := filepath.Join(inbox, name) + "\n"
	eventually(t, 5*time.Second, "new_mail_command ran with the new message's path", func() bool {
		b, _ := os.ReadFile(out)
		return string(b) == want
	})

	srv.flag(t, uid, []string{`\Flagged`})
	flagsWithin(t, filepath.Join(inbox, name), `\Flagged`, 2*time.Second)

	f, err := os.Open(filepath.Join(inbox, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	srv.expunge(t, uid)
	goneWithin(t, inbox, name, 2*time.Second)
	if b, err := io.ReadAll(f); err != nil || string(b) != string(testMail(1, "Live delivery")) {
		t.Errorf("a reader holding the expunged file open: got %q, %v", b, err)
	}

	srv.drop(t)
	uid = srv.deliver(t, testMail(2, "After the drop"))
	appearsWithin(t, inbox, uid, 5*time.Second)
	eventually(t, 5*time.Second, "new_mail_command ran for the second message", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") == 2
	})
}

// newMailLine is the new_mail_command of the live tests: it appends its
// arguments to out, one per line.
func newMailLine(out string) string {
	return `  new_mail_command = "printf '%s\\n' \"$@\" >> ` + out + `"`
}

// TestLiveMailbox: the mount follows INBOX on the in-process server by
// IDLE (poll_interval stays at a minute, so nothing else could).
func TestLiveMailbox(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	out := filepath.Join(t.TempDir(), "new-mail")
	mnt := t.TempDir()
	runMount(t, "mount", "-config", writableConfig(t, srv, newMailLine(out)), mnt)
	exerciseLive(t, filepath.Join(mnt, "test"), inProcess{srv}, out)
}

// TestLiveMailboxPolling: a server without IDLE is polled at
// poll_interval.
func TestLiveMailboxPolling(t *testing.T) {
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{NoIdle: true})
	out := filepath.Join(t.TempDir(), "new-mail")
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", writableConfig(t, srv, `  poll_interval = "1s"`+"\n"+newMailLine(out)), mnt)
	defer func() {
		if t.Failed() {
			t.Log(logs)
		}
	}()
	inbox := filepath.Join(mnt, "test", "INBOX")
	dirNames(t, inbox)
	uid := inProcess{srv}.deliver(t, testMail(1, "Polled delivery"))
	appearsWithin(t, inbox, uid, 3*time.Second)

	// A folder another client creates shows within poll_interval (the
	// mount's own check of the list, 5 s after the last, comes later).
	acct := filepath.Join(mnt, "test")
	dirNames(t, acct)
	if err := srv.CreateMailbox("Elsewhere"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the folder created elsewhere shows", func() bool {
		return slices.Contains(dirNames(t, acct), "Elsewhere")
	})
}

// TestDovecotLive is TestLiveMailbox against Dovecot, over IMAPS.
func TestDovecotLive(t *testing.T) {
	d := interop.StartDovecot(t, nil)
	view := &remotetest.View{Addr: d.IMAPSAddr(), Username: "alice", Password: "secret", TLS: &tls.Config{RootCAs: d.CA.Pool}}
	out := filepath.Join(t.TempDir(), "new-mail")
	cfg := dovecotConfig(t, d, d.IMAPSPort, "implicit")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, newMailLine(out)+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	exerciseLive(t, filepath.Join(mnt, "dove"), dovecotServer{View: view, d: d}, out)
}
