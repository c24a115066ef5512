package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote/remotetest"

	"mailfs/internal/mountinfo"
)

// TestMain lets tests run this test binary as the mailfs command itself
// (MAILFS_TEST_MAIN=1), so that signals and exit codes are tested on a real
// process without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MAILFS_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// mailfsCommand returns the test binary set up to behave as `mailfs ARGS`.
func mailfsCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "MAILFS_TEST_MAIN=1", "XDG_CACHE_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	return cmd
}

// startMailfs runs `mailfs ARGS...` as a process serving mnt, its output
// collected in out; exited receives what Wait returns. Cleanup kills it
// and detaches mnt if it is still mounted.
func startMailfs(t *testing.T, mnt string, args ...string) (cmd *exec.Cmd, out *syncBuffer, exited chan error) {
	t.Helper()
	cmd = mailfsCommand(t, args...)
	out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if isMounted(t, mnt) {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	return cmd, out, exited
}

// TestDemoCommand runs `mailfs demo` as a process, looks at the mounted
// sample mail and stops it with SIGTERM: it must exit 0 and leave no mount.
func TestDemoCommand(t *testing.T) {
	requireFUSE(t)
	mnt := filepath.Join(t.TempDir(), "mail") // the demo creates it
	cmd, out, exited := startMailfs(t, mnt, "demo", mnt)
	eventually(t, 30*time.Second, "demo never mounted; output:\n"+out.String(), func() bool { return isMounted(t, mnt) })

	inbox, err := os.ReadDir(filepath.Join(mnt, "demo", "INBOX"))
	if err != nil {
		t.Fatalf("ls demo/INBOX: %v\n%s", err, out.String())
	}
	if len(inbox) < 5 {
		t.Errorf("demo INBOX has %d messages, want a few dozen samples", len(inbox))
	}
	for _, e := range inbox {
		data, err := os.ReadFile(filepath.Join(mnt, "demo", "INBOX", e.Name()))
		if err != nil {
			t.Fatalf("cat %s: %v", e.Name(), err)
		}
		if !bytes.Contains(data, []byte("\r\n\r\n")) {
			t.Errorf("%s does not look like a message: %q", e.Name(), data[:min(len(data), 80)])
		}
	}
	if _, err := os.Stat(filepath.Join(mnt, "demo", "보관함")); err != nil {
		t.Errorf("Korean demo folder: %v", err)
	}

	popInbox := filepath.Join(mnt, "demo-pop", "INBOX")
	eventually(t, 20*time.Second, "demo-pop/INBOX never listed the POP3 samples", func() bool {
		entries, err := os.ReadDir(popInbox)
		return err == nil && len(entries) == 5
	})

	// The README's sending example: cp into outbox/ shows up in INBOX.
	msg := filepath.Join(t.TempDir(), "hello.eml")
	os.WriteFile(msg, []byte("From: alice@example.org\r\nTo: alice@example.org\r\nSubject: Hello from the outbox\r\n\r\nIt works.\r\n"), 0o644)
	if out, err := exec.Command("cp", msg, filepath.Join(mnt, "outbox")+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp hello.eml outbox/: %v: %s", err, out)
	}
	eventually(t, 20*time.Second, "the sent message never appeared in demo/INBOX", func() bool {
		entries, _ := os.ReadDir(filepath.Join(mnt, "demo", "INBOX"))
		for _, e := range entries {
			if strings.Contains(e.Name(), "Hello-from-the-outbox") {
				return true
			}
		}
		return false
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("demo exited with %v after SIGTERM, want status 0; output:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("demo still running 30s after SIGTERM")
	}
	if isMounted(t, mnt) {
		t.Errorf("%s still mounted after demo exited", mnt)
	}
}

// TestCheckCommand runs `mailfs check` against a good and a bad account.
func TestCheckCommand(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Archive"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Append("INBOX", []byte("Subject: hi\r\n\r\nhi\r\n"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	good := imapConfig(t, srv, t.TempDir())
	var out bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", good}, &out, &out); code != 0 {
		t.Fatalf("check exited %d, want 0; output:\n%s", code, out.String())
	}
	for _, want := range []string{"account test: ok", "INBOX", "Archive", "IMAP4rev2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	// POP3 and SMTP accounts are checked too.
	pop := remotetest.NewPOP3(t, nil)
	pop.Add([]byte("Subject: one\r\n\r\nbody\r\n"))
	smtpSrv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{Username: "me", Password: "smtp-pass"})
	both := writeConfig(t, `
[[accounts]]
name = "oldisp"
addresses = ["me@example.org"]
  [accounts.pop3]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = %q
  password = %q
  [accounts.smtp]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "me"
  password = "smtp-pass"
`, pop.Port(), pop.Username, pop.Password, smtpSrv.Port())
	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", both}, &out, &out); code != 0 {
		t.Fatalf("check of a POP3+SMTP account exited %d; output:\n%s", code, out.String())
	}
	for _, want := range []string{"pop3 127.0.0.1", "UIDL", "1 messages", "smtp 127.0.0.1", "8BITMIME", "account oldisp: ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	const wrong = "not-the-password-3141"
	bad := writeConfig(t, `
[[accounts]]
name = "broken"
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "user"
  password = %q
`, srv.Port(), wrong)
	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", bad}, &out, &out); code == 0 {
		t.Fatalf("check with a wrong password exited 0; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "broken") || !strings.Contains(out.String(), "password") {
		t.Errorf("check output should name the account and the cause:\n%s", out.String())
	}
	if strings.Contains(out.String(), wrong) {
		t.Errorf("check output contains the password:\n%s", out.String())
	}

	srv.SetDown(true)
	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", good}, &out, &out); code == 0 {
		t.Fatalf("check against an unreachable server exited 0; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "test") {
		t.Errorf("check output should name the account:\n%s", out.String())
	}
}

// TestDeadMountsNeverStack kills a mailfs with SIGKILL, which leaves a dead
// mount behind ("transport endpoint is not connected"), and starts another
// on the same mountpoint at once, ten times: each clears every dead layer
// (the kernel may still answer stat from the root's cached attributes) and
// mounts, so at the end exactly one live mount is there, and mountpoint(1)
// agrees.
func TestDeadMountsNeverStack(t *testing.T) {
	requireFUSE(t)
	mnt := t.TempDir()
	var last *exec.Cmd
	t.Cleanup(func() {
		if last != nil {
			last.Process.Signal(syscall.SIGTERM)
			last.Wait()
		}
		for {
			if ms, err := mountinfo.At(mnt); err != nil || len(ms) == 0 {
				return
			}
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	for i := range 10 {
		cmd := mailfsCommand(t, "demo", mnt)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		last = cmd
		eventually(t, 30*time.Second, fmt.Sprintf("demo %d never served; output:\n%s", i, &out), func() bool {
			_, err := os.ReadDir(filepath.Join(mnt, "demo", "INBOX"))
			return err == nil
		})
		if i > 0 && !strings.Contains(out.String(), "clearing a dead mount") {
			t.Errorf("demo %d: no log line about the dead mount:\n%s", i, &out)
		}
		if i == 9 {
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	ms, err := mountinfo.At(mnt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Errorf("mounts on %s after 10 kills and restarts: %d, want 1: %+v", mnt, len(ms), ms)
	}
	if out, err := exec.Command("mountpoint", "-q", mnt).CombinedOutput(); err != nil {
		t.Errorf("mountpoint -q %s: %v %s, want a mountpoint", mnt, err, out)
	}
}

// TestNeverMountsOverALiveMount starts a second mailfs on the mountpoint of
// a running one: it refuses, saying why, and the first keeps serving.
func TestNeverMountsOverALiveMount(t *testing.T) {
	requireFUSE(t)
	mnt := t.TempDir()
	runMount(t, "demo", mnt)
	second := mailfsCommand(t, "demo", mnt)
	// A second mailfs that wrongly mounts would serve until stopped.
	stop := time.AfterFunc(20*time.Second, func() {
		if p := second.Process; p != nil {
			p.Signal(syscall.SIGTERM)
		}
	})
	defer stop.Stop()
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatalf("a second mailfs on a live mount exited 0; output:\n%s", out)
	}
	if !strings.Contains(string(out), "is already mounted") {
		t.Errorf("second mailfs: got %q, want it to say the mountpoint is already mounted", out)
	}
	if ms, _ := mountinfo.At(mnt); len(ms) != 1 {
		t.Errorf("mounts on %s: %d, want the first one only", mnt, len(ms))
	}
	if _, err := os.ReadDir(filepath.Join(mnt, "demo", "INBOX")); err != nil {
		t.Errorf("the first mount after the refused second: %v", err)
	}
}
