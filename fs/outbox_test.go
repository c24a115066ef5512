package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailfs/outbox"
	"mailfs/remote"
)

// fakeSender is a remote.Sender that records what it sends. While err is
// set, every send fails with it.
type fakeSender struct {
	mu   sync.Mutex
	sent []sentMessage
	err  error
}

type sentMessage struct {
	env  remote.Envelope
	data string
}

func (s *fakeSender) Send(ctx context.Context, env remote.Envelope, msg io.Reader) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, sentMessage{env: env, data: string(b)})
	return nil
}

func (s *fakeSender) Close() error { return nil }

func (s *fakeSender) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeSender) got() []sentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// outboxTest opens an outbox in a temporary directory with one default
// account "work" (me@work.example) sending through sender, runs it, and
// mounts it with no account. It returns the mount point and the outbox.
// change, when given, adjusts the outbox's options.
func outboxTest(t *testing.T, sender remote.Sender, accounts []Account, change ...func(*outbox.Options)) (string, *outbox.Outbox) {
	t.Helper()
	opts := &outbox.Options{
		Dir: t.TempDir(),
		Accounts: []outbox.Account{{
			Name: "work", Addresses: []string{"me@work.example"}, Default: true, Sender: sender,
		}},
		MinBackoff: time.Hour,
		MaxBackoff: time.Hour,
	}
	for _, c := range change {
		c(opts)
	}
	ob, err := outbox.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ob.Run(ctx)
	}()
	t.Cleanup(func() { // after the unmount, registered later
		cancel()
		<-done
		ob.Close()
	})
	return mountTest(t, accounts, &Options{Outbox: ob}), ob
}

const goodMessage = "From: me@work.example\r\nTo: you@example.org\r\nSubject: hello\r\n\r\nHi there.\r\n"

// badMessage has no recipient.
const badMessage = "From: me@work.example\r\nSubject: lost\r\n\r\nTo nobody.\r\n"

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a command and returns its combined output and error.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// eventually waits up to 5s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestOutboxSend(t *testing.T) {
	sender := &fakeSender{}
	mnt, _ := outboxTest(t, sender, nil)
	box := filepath.Join(mnt, "outbox")

	if got := readDirNames(t, mnt); !slices.Equal(got, []string{"outbox/"}) {
		t.Errorf("ReadDir(root) = %q, want [outbox/]", got)
	}
	for _, d := range []string{"outbox", "outbox/failed"} {
		fi, err := os.Stat(filepath.Join(mnt, d))
		if err != nil || fi.Mode() != fs.ModeDir|0o700 {
			t.Errorf("Stat(%s) = %v, %v, want mode %v", d, fi.Mode(), err, fs.ModeDir|0o700)
		}
	}

	src := writeTemp(t, "msg.eml", goodMessage)
	if out, err := run(t, "cp", src, box+"/"); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	eventually(t, "the message to be sent", func() bool { return len(sender.got()) == 1 })
	m := sender.got()[0]
	if !strings.HasSuffix(m.data, "\r\n\r\nHi there.\r\n") || !strings.Contains(m.data, "Subject: hello\r\n") {
		t.Errorf("sent %q, want the message copied", m.data)
	}
	if !slices.Equal(m.env.To, []string{"you@example.org"}) || m.env.From != "me@work.example" {
		t.Errorf("envelope = %+v", m.env)
	}
	// Sent: it leaves outbox/.
	eventually(t, "outbox/ to be empty", func() bool {
		return slices.Equal(readDirNames(t, box), []string{"drafts/", "failed/"})
	})

	// A shell redirection: the file is flushed empty first, then written.
	cmd := exec.Command("sh", "-c", "printf 'To: a@example.org\\nSubject: shell\\n\\nbody\\n' > "+box+"/shell.eml")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh: %v: %s", err, out)
	}
	eventually(t, "the second message to be sent", func() bool { return len(sender.got()) == 2 })
	if got := sender.got()[1].data; !strings.Contains(got, "Subject: shell\n") || !strings.Contains(got, "From: me@work.example") {
		t.Errorf("sent %q, want the shell's message with From filled in", got)
	}

	// touch leaves nothing behind.
	if out, err := run(t, "touch", box+"/empty.eml"); err != nil {
		t.Fatalf("touch: %v: %s", err, out)
	}
	time.Sleep(100 * time.Millisecond)
	if got := readDirNames(t, box); !slices.Equal(got, []string{"drafts/", "failed/"}) {
		t.Errorf("ReadDir after touch = %q, want [drafts/ failed/]", got)
	}
}

// TestOutboxDraft writes a message with the file API: the size shows while
// it is written, truncation works, chmod and utimes are accepted, a write
// after close-with-commit of a dup'd descriptor fails.
func TestOutboxDraft(t *testing.T) {
	sender := &fakeSender{}
	sender.setErr(errors.New("421 try later")) // keep it queued
	mnt, ob := outboxTest(t, sender, nil)
	p := filepath.Join(mnt, "outbox", "draft.eml")

	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("Subject: scratch\r\n"); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 18 {
		t.Errorf("Stat while written = %v, %v, want size 18", fi.Size(), err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatalf("Truncate: %v", err)
	}
	if _, err := f.WriteAt([]byte(goodMessage), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o600); err != nil {
		t.Errorf("Chmod: %v", err)
	}
	if err := os.Chtimes(p, time.Now(), time.Now()); err != nil {
		t.Errorf("Chtimes: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
	b := make([]byte, 5)
	if _, err := f.ReadAt(b, 0); err != nil || string(b) != "From:" {
		t.Errorf("ReadAt = %q, %v, want %q", b, err, "From:")
	}
	// A dup'd descriptor closes first: that commits.
	fd2, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fd2); err != nil {
		t.Fatalf("close(dup): %v", err)
	}
	if _, err := f.WriteAt([]byte("more"), int64(len(goodMessage))); !errors.Is(err, syscall.EBADF) {
		t.Errorf("write after commit error = %v, want EBADF", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close after commit: %v", err)
	}
	if e, err := ob.Stat("draft.eml"); err != nil || e.Size < int64(len(goodMessage)) {
		t.Errorf("outbox Stat = %+v, %v, want the queued message", e, err)
	}

	// The same name again: a new message that gets a suffix.
	src := writeTemp(t, "draft.eml", goodMessage)
	if out, err := run(t, "cp", src, filepath.Join(mnt, "outbox")); err != nil {
		t.Fatalf("cp onto a queued name: %v: %s", err, out)
	}
	want := []string{"draft.eml", "draft-2.eml", "drafts/", "failed/"}
	eventually(t, "two queued messages", func() bool {
		got := readDirNames(t, filepath.Join(mnt, "outbox"))
		slices.Sort(got)
		slices.Sort(want)
		return slices.Equal(got, want)
	})
	// cp -p into the outbox works too.
	if out, err := run(t, "cp", "-p", src, filepath.Join(mnt, "outbox", "kept.eml")); err != nil {
		t.Errorf("cp -p: %v: %s", err, out)
	}
}

func TestOutboxInvalid(t *testing.T) {
	sender := &fakeSender{}
	mnt, _ := outboxTest(t, sender, nil)
	box := filepath.Join(mnt, "outbox")

	src := writeTemp(t, "bad.eml", badMessage)
	out, err := run(t, "cp", src, box+"/")
	if err == nil {
		t.Fatalf("cp of an invalid message succeeded")
	}
	if !strings.Contains(out, "Invalid argument") {
		t.Errorf("cp said %q, want it to mention %q", out, "Invalid argument")
	}
	if got := readDirNames(t, box); !slices.Equal(got, []string{"drafts/", "failed/"}) {
		t.Errorf("ReadDir(outbox) = %q, want [drafts/ failed/]", got)
	}
	failed := filepath.Join(box, "failed")
	if got := readDirNames(t, failed); !slices.Equal(got, []string{"bad.eml", "bad.eml.error"}) {
		t.Errorf("ReadDir(failed) = %q, want [bad.eml bad.eml.error]", got)
	}
	reason, err := os.ReadFile(filepath.Join(failed, "bad.eml.error"))
	if err != nil || !strings.HasSuffix(string(reason), "\n") || strings.Count(string(reason), "\n") != 1 || !strings.Contains(string(reason), "recipient") {
		t.Errorf("bad.eml.error = %q, %v, want one line about recipients", reason, err)
	}
	if b, err := os.ReadFile(filepath.Join(failed, "bad.eml")); err != nil || string(b) != badMessage {
		t.Errorf("failed/bad.eml = %q, %v, want what was copied", b, err)
	}
	if out, err := run(t, "getfattr", "--absolute-names", "-n", "user.mail.error", "--only-values", filepath.Join(failed, "bad.eml")); err != nil || out+"\n" != string(reason) {
		t.Errorf("getfattr user.mail.error = %q, %v, want %q", out, err, strings.TrimSuffix(string(reason), "\n"))
	}
	// Read-only.
	if err := os.WriteFile(filepath.Join(failed, "bad.eml"), []byte("x"), 0o600); err == nil {
		t.Errorf("writing failed/bad.eml succeeded")
	}
	if err := os.Remove(filepath.Join(failed, "bad.eml.error")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rm bad.eml.error error = %v, want EPERM", err)
	}

	// Still invalid: mv back fails with EINVAL and the message stays.
	if err := os.Rename(filepath.Join(failed, "bad.eml"), filepath.Join(box, "bad.eml")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("mv of an invalid message back to outbox/ error = %v, want EINVAL", err)
	}
	// Other renames in the outbox are refused.
	if err := os.Rename(filepath.Join(failed, "bad.eml"), filepath.Join(failed, "other.eml")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rename within failed/ error = %v, want EPERM", err)
	}
	if err := os.Mkdir(filepath.Join(box, "dir"), 0o700); !errors.Is(err, syscall.EPERM) {
		t.Errorf("mkdir in outbox/ error = %v, want EPERM", err)
	}

	// rm takes the .error with it.
	if err := os.Remove(filepath.Join(failed, "bad.eml")); err != nil {
		t.Fatalf("rm failed/bad.eml: %v", err)
	}
	if got := readDirNames(t, failed); len(got) != 0 {
		t.Errorf("ReadDir(failed) after rm = %q, want nothing", got)
	}
	if _, err := os.Stat(filepath.Join(failed, "bad.eml.error")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(bad.eml.error) after rm error = %v, want ENOENT", err)
	}
}

// TestOutboxRetry checks that a message the server refused goes to failed/
// and that mv back into outbox/ sends it again.
func TestOutboxRetry(t *testing.T) {
	sender := &fakeSender{}
	sender.setErr(fmt.Errorf("550 mailbox unavailable: %w", remote.ErrPermanent))
	mnt, _ := outboxTest(t, sender, nil)
	box := filepath.Join(mnt, "outbox")
	src := writeTemp(t, "refused.eml", goodMessage)
	if out, err := run(t, "cp", src, box+"/"); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	failed := filepath.Join(box, "failed")
	eventually(t, "the message to fail", func() bool {
		_, err := os.Stat(filepath.Join(failed, "refused.eml"))
		return err == nil
	})
	reason, err := os.ReadFile(filepath.Join(failed, "refused.eml.error"))
	if err != nil || !strings.Contains(string(reason), "550 mailbox unavailable") {
		t.Errorf("refused.eml.error = %q, %v, want the server's reply", reason, err)
	}

	sender.setErr(nil)
	if out, err := run(t, "mv", filepath.Join(failed, "refused.eml"), box+"/"); err != nil {
		t.Fatalf("mv failed/refused.eml outbox/: %v: %s", err, out)
	}
	eventually(t, "the message to be sent", func() bool { return len(sender.got()) == 1 })
	eventually(t, "outbox/ to be empty", func() bool {
		return slices.Equal(readDirNames(t, box), []string{"drafts/", "failed/"}) && len(readDirNames(t, failed)) == 0
	})
}

// TestOutboxQueued checks what a user sees of a message waiting for a
// retry: ls, stat, cat, getfattr, and that rm cancels it.
func TestOutboxQueued(t *testing.T) {
	sender := &fakeSender{}
	sender.setErr(errors.New("421 4.3.2 service not available"))
	mnt, ob := outboxTest(t, sender, nil)
	box := filepath.Join(mnt, "outbox")
	src := writeTemp(t, "wait.eml", goodMessage)
	if out, err := run(t, "cp", src, box+"/"); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	p := filepath.Join(box, "wait.eml")
	eventually(t, "the first attempt", func() bool {
		e, err := ob.Stat("wait.eml")
		return err == nil && e.Attempts == 1 && e.State == outbox.StateQueued
	})
	e, _ := ob.Stat("wait.eml")

	fi, err := os.Stat(p)
	if err != nil || fi.Mode() != 0o444 || fi.Size() != e.Size || !fi.ModTime().Equal(e.ModTime) {
		t.Errorf("Stat = %v, %v; want mode 0444, size %d, mtime %v", fi, err, e.Size, e.ModTime)
	}
	b, err := os.ReadFile(p)
	if err != nil || int64(len(b)) != e.Size || !strings.Contains(string(b), "Message-ID:") {
		t.Errorf("ReadFile = %q, %v, want the prepared message", b, err)
	}
	out, err := run(t, "getfattr", "-d", "--absolute-names", p)
	if err != nil {
		t.Fatalf("getfattr: %v: %s", err, out)
	}
	for _, want := range []string{
		`user.mail.state="queued"`,
		`user.mail.account="work"`,
		`user.mail.attempts="1"`,
		`user.mail.next-attempt="` + e.NextAttempt.Format(time.RFC3339) + `"`,
		`user.mail.last-error="`,
		"421 4.3.2 service not available",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("getfattr -d = %q, want it to contain %q", out, want)
		}
	}
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		// Writing starts a new message, which is invalid: EINVAL.
		if !errors.Is(err, syscall.EINVAL) {
			t.Errorf("overwrite error = %v, want EINVAL (a new message that is invalid)", err)
		}
	}
	if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0); !errors.Is(err, syscall.EACCES) {
		if err == nil {
			f.Close()
		}
		t.Errorf("open for append error = %v, want EACCES", err)
	}

	if err := os.Remove(p); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if got := readDirNames(t, box); slices.Contains(got, "wait.eml") {
		t.Errorf("ReadDir after rm = %q", got)
	}
	if _, err := ob.Stat("wait.eml"); err == nil {
		t.Errorf("the message is still in the outbox after rm")
	}
	if err := os.Remove(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second rm error = %v, want ENOENT", err)
	}
}

// TestOutboxShellEdits edits outbox/ with the shell as people do, with a
// send delay of half a second: a side file is an ordinary file that is
// never sent; an atomic save (write a dotfile, rename it onto the name)
// sends once, and an invalid one is refused (EPERM) with the dotfile kept; rm of
// a held message cancels it; mv into drafts/ keeps it, mv back sends it;
// a text that is not a message fails its write (echo reports it); a held
// message says so in user.mail.state.
func TestOutboxShellEdits(t *testing.T) {
	sender := &fakeSender{}
	mnt, _ := outboxTest(t, sender, nil, func(o *outbox.Options) { o.SendDelay = 500 * time.Millisecond })
	box := filepath.Join(mnt, "outbox")
	sh := func(script string) (string, error) {
		t.Helper()
		return run(t, "bash", "-c", "cd "+box+" && "+script)
	}
	good := writeTemp(t, "good.eml", goodMessage)
	bad := writeTemp(t, "bad.eml", badMessage)

	if out, err := sh("echo 'swap bytes' > .notes.swp && cat .notes.swp && cp " + good + " 'x.eml~'"); err != nil || out != "swap bytes\n" {
		t.Fatalf("side files: %v: %q", err, out)
	}
	if out, err := sh("cp " + good + " .y.eml.tmp && mv .y.eml.tmp y.eml"); err != nil {
		t.Fatalf("atomic save: %v: %s", err, out)
	}
	if state, err := getxattr(filepath.Join(box, "y.eml"), "user.mail.state"); err != nil || state != outbox.StateHeld {
		t.Errorf("user.mail.state of a message just written: %q, %v, want %q", state, err, outbox.StateHeld)
	}
	if out, err := sh("cp " + bad + " .bad.tmp && mv .bad.tmp bad.eml"); err == nil || !strings.Contains(out, "not permitted") {
		t.Errorf("mv of an invalid message onto a message name: %v: %q, want Operation not permitted", err, out)
	}
	if out, err := sh("cp " + good + " z.eml && rm z.eml"); err != nil {
		t.Fatalf("rm a held message: %v: %s", err, out)
	}
	if out, err := sh("cp " + good + " w.eml && mv w.eml drafts/"); err != nil {
		t.Fatalf("mv a held message into drafts/: %v: %s", err, out)
	}
	if out, err := sh("echo hi > n.txt"); err == nil || !strings.Contains(out, "Invalid argument") {
		t.Errorf("echo hi > outbox/n.txt: %v: %q, want the write to fail with Invalid argument", err, out)
	}
	eventually(t, "y.eml sent", func() bool { return len(sender.got()) >= 1 })
	time.Sleep(time.Second) // anything else held would go now
	if got := sender.got(); len(got) != 1 {
		t.Errorf("sent %d messages, want only y.eml", len(got))
	}
	want := []string{"#outbox", ".bad.tmp", ".notes.swp", "drafts/", "failed/", "x.eml~"}
	got := append([]string{"#outbox"}, readDirNames(t, box)...)
	if !slices.Equal(got, want) {
		t.Errorf("outbox/ = %q, want %q", got[1:], want[1:])
	}
	if names := readDirNames(t, filepath.Join(box, "drafts")); !slices.Equal(names, []string{"w.eml"}) {
		t.Errorf("drafts/ = %q, want [w.eml]", names)
	}
	if names := readDirNames(t, filepath.Join(box, "failed")); !slices.Equal(names, []string{"n.txt", "n.txt.error"}) {
		t.Errorf("failed/ = %q, want only n.txt (the echo) and its reason", names)
	}
	if out, err := sh("mv drafts/w.eml ."); err != nil {
		t.Fatalf("mv drafts/w.eml outbox/: %v: %s", err, out)
	}
	eventually(t, "the draft moved into outbox/ sent", func() bool { return len(sender.got()) == 2 })
}

// getxattr reads the extended attribute name of path.
func getxattr(path, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := syscall.Getxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
