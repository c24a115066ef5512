package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// sendEnv is an IMAP account with SMTP, both in-process, and its config.
type sendEnv struct {
	imap   *remotetest.IMAP
	smtp   *remotetest.SMTP
	config string
}

func newSendEnv(t *testing.T, smtpOpts *remotetest.SMTPOptions) *sendEnv {
	t.Helper()
	if smtpOpts == nil {
		smtpOpts = &remotetest.SMTPOptions{}
	}
	smtpOpts.Username, smtpOpts.Password = "me", "smtp-secret-2718"
	e := &sendEnv{imap: remotetest.NewIMAP(t, &remotetest.IMAPOptions{Username: "me", Password: "imap-secret-1618"}), smtp: remotetest.NewSMTP(t, smtpOpts)}
	if err := e.imap.CreateMailbox("Sent"); err != nil {
		t.Fatal(err)
	}
	e.config = writeConfig(t, `
[cache]
dir = %q
[[accounts]]
name = "me"
addresses = ["me@example.org"]
default = true
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = %q
  password = %q
  sent_folder = "Sent"
  [accounts.smtp]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "me"
  password = "smtp-secret-2718"
`, t.TempDir(), e.imap.Port(), e.imap.Username, e.imap.Password, e.smtp.Port())
	return e
}

func writeMessage(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOutboxThroughMount sends with cp, fails with cp, and retries with mv,
// through `mailfs mount`.
func TestOutboxThroughMount(t *testing.T) {
	e := newSendEnv(t, nil)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-v", "-config", e.config, mnt)
	outbox := filepath.Join(mnt, "outbox")
	t.Cleanup(func() {
		for _, secret := range []string{"imap-secret-1618", "smtp-secret-2718"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a password reached the log:\n%s", logs)
			}
		}
	})

	good := writeMessage(t, "hello.eml", "From: me@example.org\r\nTo: bob@example.org\r\nBcc: carol@example.org\r\nSubject: Grüße\r\n\r\nHallo Bob, schöne Grüße.\r\n")
	if out, err := exec.Command("cp", good, outbox+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp good message: %v: %s", err, out)
	}
	eventually(t, 20*time.Second, "the message never reached the SMTP server", func() bool { return len(e.smtp.Messages()) == 1 })
	got := e.smtp.Messages()[0]
	if !slices.Equal(got.To, []string{"bob@example.org", "carol@example.org"}) {
		t.Errorf("envelope recipients: got %v, want bob and carol (Bcc)", got.To)
	}
	if bytes.Contains(got.Data, []byte("Bcc:")) || !bytes.Contains(got.Data, []byte("Hallo Bob, schöne Grüße.")) {
		t.Errorf("transmitted message: Bcc must be stripped and the body kept:\n%s", got.Data)
	}
	for _, h := range []string{"Date: ", "Message-ID: "} {
		if !bytes.Contains(got.Data, []byte(h)) {
			t.Errorf("transmitted message lacks %q:\n%s", h, got.Data)
		}
	}
	eventually(t, 20*time.Second, "outbox/ still lists the sent message", func() bool {
		entries, err := os.ReadDir(outbox)
		return err == nil && !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == "hello.eml" })
	})
	eventually(t, 20*time.Second, "no \\Seen copy in Sent", func() bool {
		flags, err := e.imap.Flags("Sent")
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range flags {
			if slices.Contains(fl, `\Seen`) {
				return true
			}
		}
		return false
	})

	bad := writeMessage(t, "bad.eml", "From: me@example.org\r\nSubject: nobody to send to\r\n\r\nbody\r\n")
	out, err := exec.Command("cp", bad, outbox+"/").CombinedOutput()
	if err == nil {
		t.Fatalf("cp of a message without recipients succeeded")
	}
	if !strings.Contains(string(out), "Invalid argument") {
		t.Errorf("cp said %q, want it to report Invalid argument", out)
	}
	reason, err := os.ReadFile(filepath.Join(outbox, "failed", "bad.eml.error"))
	if err != nil {
		t.Fatalf("read failed/bad.eml.error: %v", err)
	}
	if !strings.Contains(string(reason), "recipient") || strings.Count(string(reason), "\n") != 1 {
		t.Errorf("bad.eml.error: got %q, want one line about recipients", reason)
	}
	if _, err := os.Stat(filepath.Join(outbox, "bad.eml")); !os.IsNotExist(err) {
		t.Errorf("bad.eml still listed in outbox/: %v", err)
	}

	// A 5xx reply puts the message into failed/ with the server's words;
	// mv back retries it.
	e.smtp.FailNext(550, [3]int{5, 1, 1}, "no such user here", 1)
	rejected := writeMessage(t, "rejected.eml", "From: me@example.org\r\nTo: nobody@example.org\r\nSubject: x\r\n\r\nx\r\n")
	if out, err := exec.Command("cp", rejected, outbox+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	errFile := filepath.Join(outbox, "failed", "rejected.eml.error")
	eventually(t, 20*time.Second, "rejected message never reached failed/", func() bool {
		data, err := os.ReadFile(errFile)
		return err == nil && strings.Contains(string(data), "no such user here")
	})
	if err := os.Rename(filepath.Join(outbox, "failed", "rejected.eml"), filepath.Join(outbox, "rejected.eml")); err != nil {
		t.Fatalf("mv failed/rejected.eml outbox/: %v", err)
	}
	eventually(t, 20*time.Second, "retried message never sent", func() bool { return len(e.smtp.Messages()) == 2 })
	if _, err := os.Stat(errFile); !os.IsNotExist(err) {
		t.Errorf("failed/rejected.eml.error still there after a successful retry: %v", err)
	}
}

// TestOutboxSurvivesKill copies messages into outbox/ of a mailfs process
// and kills it with SIGKILL, once right after cp returns (the server is
// refusing connections, so nothing was sent) and once in the middle of
// sending (the server stalls after DATA). Each restart sends everything
// still queued: nothing is lost.
func TestOutboxSurvivesKill(t *testing.T) {
	requireFUSE(t)
	e := newSendEnv(t, nil)
	data := t.TempDir()
	start := func() (*exec.Cmd, string) {
		mnt := t.TempDir()
		cmd := mailfsCommand(t, "mount", "-config", e.config, mnt)
		cmd.Env = append(cmd.Env, "XDG_DATA_HOME="+data)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if isMounted(t, mnt) {
				syscall.Unmount(mnt, syscall.MNT_DETACH)
			}
		})
		eventually(t, 20*time.Second, "mailfs never mounted:\n"+out.String(), func() bool { return isMounted(t, mnt) })
		return cmd, mnt
	}
	kill := func(cmd *exec.Cmd, mnt string) {
		cmd.Process.Kill()
		cmd.Wait()
		syscall.Unmount(mnt, syscall.MNT_DETACH)
	}
	msg := func(i int) string {
		return fmt.Sprintf("From: me@example.org\r\nTo: bob@example.org\r\nSubject: crash %d\r\nMessage-ID: <crash-%d@example.org>\r\n\r\nbody %d\r\n", i, i, i)
	}

	// 1: killed right after cp returns, before anything could be sent.
	e.smtp.FailNextMail(421, [3]int{4, 3, 2}, "try later", 1000)
	cmd, mnt := start()
	for i := range 5 {
		if out, err := exec.Command("cp", writeMessage(t, fmt.Sprintf("m%d.eml", i), msg(i)), filepath.Join(mnt, "outbox")+"/").CombinedOutput(); err != nil {
			t.Fatalf("cp %d: %v: %s", i, err, out)
		}
	}
	kill(cmd, mnt)
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d messages accepted while the server refused everything", n)
	}

	// 2: restarted with the server answering, but stalling after the data
	// of the first message it receives: killed in the sending step.
	e.smtp.FailNextMail(0, [3]int{}, "", 0)
	e.smtp.StallNextData(1)
	cmd, mnt = start()
	eventually(t, 20*time.Second, "no send attempt reached the server", func() bool { return e.smtp.Stalled() > 0 })
	kill(cmd, mnt)

	// 3: restarted once more: everything arrives.
	start()
	eventually(t, 30*time.Second, "not every message arrived after the restarts", func() bool {
		seen := map[string]bool{}
		for _, m := range e.smtp.Messages() {
			for i := range 5 {
				if bytes.Contains(m.Data, fmt.Appendf(nil, "<crash-%d@example.org>", i)) {
					seen[fmt.Sprint(i)] = true
				}
			}
		}
		return len(seen) == 5
	})
}

// TestEditorsInOutbox edits a message in outbox/ with vim as a person
// does: a new file, three saves two seconds apart, then quit. Every save
// writes side files (the swap file .draft.eml.swp, vim's 4913 probe, the
// draft.eml~ backup of the rename-and-rewrite save) and the send delay is
// one second, so only the open swap file keeps the message from going out
// between saves. Exactly one message is sent, the last version, after vim
// quits; no side file is sent or lands in failed/, and vim reports no
// error. Then a file kept in outbox/drafts/ is not sent until mv moves it
// into outbox/.
func TestEditorsInOutbox(t *testing.T) {
	vim := interop.RequireProgram(t, "vim", "vim")
	e := newSendEnv(t, nil)
	config := writeConfig(t, "%s\n[outbox]\nsend_delay = \"1s\"\n", readFile(t, e.config))
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir()) // no ~/.vimrc, no ~/.viminfo
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-v", "-config", config, mnt)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mailfs log:\n%s", logs)
		}
	})
	outbox := filepath.Join(mnt, "outbox")

	// Vim's defaults on Unix, which -es does not load, and no
	// backupskip (its default skips /tmp/*, where the mount is): the
	// second and third saves probe with 4913, rename draft.eml to
	// draft.eml~, write a new draft.eml and delete draft.eml~ (checked
	// with strace).
	script := "set writebackup nobackup backupcopy=auto backupskip=\n"
	for n := 1; n <= 3; n++ {
		script += fmt.Sprintf("call setline(1, ['From: me@example.org', 'To: bob@example.org', 'Subject: draft', '', 'version %d'])\nwrite\nsleep 2\n", n)
	}
	script += "qall!\n"
	scriptFile := writeMessage(t, "edit.vim", script)
	cmd := exec.Command(vim, "-N", "-es", "-i", "NONE", "-S", scriptFile, filepath.Join(outbox, "draft.eml"))
	var swapSeen bool
	done := make(chan error, 1)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("vim: %v: %s", err, out.String())
			}
			running = false
		case <-time.After(100 * time.Millisecond):
			if _, err := os.Stat(filepath.Join(outbox, ".draft.eml.swp")); err == nil {
				swapSeen = true
			}
			if n := len(e.smtp.Messages()); n > 0 {
				t.Errorf("%d message(s) sent while vim had the draft open, want none before it quits", n)
			}
		}
	}
	if out.Len() > 0 {
		t.Errorf("vim reported: %s", out.String())
	}
	if !swapSeen {
		t.Errorf("vim's swap file .draft.eml.swp never showed in outbox/: the test did not test what it says")
	}
	eventually(t, 20*time.Second, "the draft was never sent after vim quit", func() bool { return len(e.smtp.Messages()) >= 1 })
	time.Sleep(2 * time.Second) // a second message would come within the delay
	msgs := e.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages sent, want exactly 1 for three saves", len(msgs))
	}
	if !bytes.Contains(msgs[0].Data, []byte("version 3")) {
		t.Errorf("sent message is not the last version:\n%s", msgs[0].Data)
	}
	if names := dirNames(t, filepath.Join(outbox, "failed")); len(names) != 0 {
		t.Errorf("failed/ holds %q, want nothing (side files are never sent)", names)
	}
	if names := dirNames(t, outbox); !slices.Equal(names, []string{"drafts", "failed"}) {
		t.Errorf("outbox/ after vim quit: %q, want only drafts and failed", names)
	}

	// drafts/ only stores; mv into outbox/ sends.
	draft := writeMessage(t, "later.eml", "From: me@example.org\r\nTo: bob@example.org\r\nSubject: later\r\n\r\nlater\r\n")
	if out, err := exec.Command("cp", draft, filepath.Join(outbox, "drafts")+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp into drafts/: %v: %s", err, out)
	}
	time.Sleep(2500 * time.Millisecond)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d messages sent with a file in drafts/, want still 1", n)
	}
	if out, err := exec.Command("mv", filepath.Join(outbox, "drafts", "later.eml"), outbox+"/").CombinedOutput(); err != nil {
		t.Fatalf("mv drafts/later.eml outbox/: %v: %s", err, out)
	}
	eventually(t, 20*time.Second, "the draft moved into outbox/ was never sent", func() bool { return len(e.smtp.Messages()) == 2 })
	if !bytes.Contains(e.smtp.Messages()[1].Data, []byte("Subject: later")) {
		t.Errorf("second message sent is not the draft:\n%s", e.smtp.Messages()[1].Data)
	}
}

// readFile returns the content of path.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}
