package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/tmpfs"
	"mailfs/remote/remotetest"
)

// tempFilesUnder returns the files under dir whose names start with a dot
// and hold "tmp" (the temporary files of the cache and the stores).
func tempFilesUnder(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), "tmp") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// bigMessage returns a message of about 1.1 MiB from me@example.org.
func bigMessage(subject string) []byte {
	return []byte("From: me@example.org\r\nTo: bob@example.org\r\nSubject: " + subject + "\r\n\r\n" +
		strings.Repeat("0123456789abcdef\r\n", 64<<10))
}

// TestCatOnFullCacheDisk reads a message through the mount while the
// cache's disk is full: cat fails with ENOSPC ("No space left on device",
// as the README's errno table says for the local disk), no temporary file
// or partial body is left, the messages read before read back exactly, ls
// still works; once space is freed the message reads exactly.
func TestCatOnFullCacheDisk(t *testing.T) {
	disk := tmpfs.Mount(t, "3m")
	srv := remotetest.NewIMAP(t, nil)
	date := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	small := map[string][]byte{}
	for i, s := range []string{"one", "two", "three"} {
		msg := []byte("From: a@example.org\r\nSubject: " + s + "\r\n\r\nbody " + s + "\r\n")
		if _, err := srv.Append("INBOX", msg, nil, date.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		small[s] = msg
	}
	// Last in the folder, and larger than the read-ahead's budget (an
	// eighth of max_size): reading the others does not fetch it.
	big := bigMessage("big")
	if _, err := srv.Append("INBOX", big, nil, date.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(disk, "cache")
	cfg := writeConfig(t, `
[cache]
dir = %q
max_size = "8MiB"
[[accounts]]
name = "me"
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = %q
  password = %q
`, cacheDir, srv.Port(), srv.Username, srv.Password)
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-v", "-config", cfg, mnt)
	inbox := filepath.Join(mnt, "me", "INBOX")
	names := listEML(t, inbox)
	if len(names) != 4 {
		t.Fatalf("INBOX lists %v, want 4 messages", names)
	}
	bigName := names[3]
	if !strings.Contains(bigName, "_big_") {
		t.Fatalf("last name %q, want the big message", bigName)
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(inbox, name)) }
	for _, n := range names[:3] {
		if _, err := read(n); err != nil {
			t.Fatal(err)
		}
	}

	filler := tmpfs.Fill(t, disk, 0)
	_, err := read(bigName)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("cat on a full cache disk: got %v, want ENOSPC (No space left on device)\n%s", err, logs)
	}
	if tmp := tempFilesUnder(cacheDir); len(tmp) > 0 {
		t.Errorf("temporary files left in the cache: %v", tmp)
	}
	for _, n := range names[:3] {
		got, err := read(n)
		subject := strings.Split(n, "_")[2]
		if err != nil || !bytes.Equal(got, small[subject]) {
			t.Errorf("%s read before the disk filled: got %q, %v; want %q", n, got, err, small[subject])
		}
	}
	if got := listEML(t, inbox); !slices.Equal(got, names) {
		t.Errorf("ls on a full disk: got %v, want %v", got, names)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	got, err := read(bigName)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("cat after freeing space: got %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
	if got := listEML(t, inbox); !slices.Equal(got, names) {
		t.Errorf("ls after freeing space: got %v, want %v", got, names)
	}
}

// TestCpIntoOutboxOnFullSpool copies a message into outbox/ while the
// spool's disk is full: cp fails with "No space left on device" (at the
// write or at close), nothing is queued or left in failed/, and the
// message queued before is intact. Once space is freed (and mailfs
// restarted, which retries at once) that message is sent as it was queued,
// and the same cp works and is sent.
func TestCpIntoOutboxOnFullSpool(t *testing.T) {
	disk := tmpfs.Mount(t, "3m")
	e := newSendEnv(t, nil)
	t.Setenv("XDG_DATA_HOME", disk)
	bigFile := filepath.Join(t.TempDir(), "big.eml")
	big := bigMessage("big")
	if err := os.WriteFile(bigFile, big, 0o600); err != nil {
		t.Fatal(err)
	}
	var queued []byte
	var filler string
	t.Run("full", func(t *testing.T) {
		// The first message waits in outbox/ while the server answers 451.
		e.smtp.FailNext(451, [3]int{4, 3, 0}, "try again later", 1)
		mnt := t.TempDir()
		logs := runMount(t, "mount", "-v", "-config", e.config, mnt)
		outbox := filepath.Join(mnt, "outbox")
		first := writeMessage(t, "first.eml", "From: me@example.org\r\nTo: bob@example.org\r\nSubject: queued before\r\n\r\nstill here\r\n")
		if out, err := exec.Command("cp", first, outbox+"/").CombinedOutput(); err != nil {
			t.Fatalf("cp first.eml: %v: %s", err, out)
		}
		eventually(t, 20*time.Second, "the 451 never came", func() bool { return strings.Contains(logs.String(), "try again later") })
		var err error
		if queued, err = os.ReadFile(filepath.Join(outbox, "first.eml")); err != nil {
			t.Fatalf("first.eml not waiting in outbox/: %v", err)
		}

		filler = tmpfs.Fill(t, disk, 0)
		out, err := exec.Command("cp", bigFile, outbox+"/").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "No space left on device") {
			t.Fatalf("cp on a full spool: %v, %q; want it to fail with No space left on device", err, out)
		}
		ents, err := os.ReadDir(outbox)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			if en.Name() != "first.eml" && en.Name() != "failed" && en.Name() != "drafts" {
				t.Errorf("outbox/ after the failed cp holds %s", en.Name())
			}
		}
		if failed, _ := os.ReadDir(filepath.Join(outbox, "failed")); len(failed) != 0 {
			t.Errorf("outbox/failed/ after a full disk: %v, want nothing", failed)
		}
		if got, err := os.ReadFile(filepath.Join(outbox, "first.eml")); err != nil || !bytes.Equal(got, queued) {
			t.Errorf("first.eml after the failed cp: %v, %q; want %q", err, got, queued)
		}
		if tmp, _ := os.ReadDir(filepath.Join(disk, "mailfs", "outbox", "tmp")); len(tmp) != 0 {
			t.Errorf("spool tmp/ after the failed cp: %d entries, want none", len(tmp))
		}
		if n := len(e.smtp.Messages()); n != 0 {
			t.Errorf("%d messages reached the server, want none yet", n)
		}
	})
	if t.Failed() {
		return
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	runMount(t, "mount", "-config", e.config, mnt)
	eventually(t, 20*time.Second, "the message queued before was not sent after the restart", func() bool { return len(e.smtp.Messages()) == 1 })
	if got := e.smtp.Messages()[0].Data; !bytes.Equal(got, queued) {
		t.Errorf("sent: got %q, want the message as queued %q", got, queued)
	}
	if out, err := exec.Command("cp", bigFile, filepath.Join(mnt, "outbox")+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp after freeing space: %v: %s", err, out)
	}
	eventually(t, 20*time.Second, "the big message was never sent", func() bool { return len(e.smtp.Messages()) == 2 })
	if got := e.smtp.Messages()[1].Data; !bytes.HasSuffix(got, big[bytes.Index(big, []byte("\r\n\r\n")):]) {
		t.Errorf("big message sent with %d bytes, want its body intact", len(got))
	}
}

// TestPOP3DownloadOnFullDisk downloads with the real POP3 client into a
// store on a full disk (leave_on_server = false): nothing partial is
// stored, the message stays on the server (no DELE), the messages stored
// before read back exactly, a cp into a local folder fails with ENOSPC;
// once space is freed the message is downloaded and deleted on the server.
func TestPOP3DownloadOnFullDisk(t *testing.T) {
	disk := tmpfs.Mount(t, "4m")
	srv := remotetest.NewPOP3(t, nil)
	first := []byte("From: a@example.org\r\nSubject: first\r\n\r\nhello\r\n")
	srv.Add(first)
	cfg := pop3Config(t, srv.Port(), "none", "", srv.Username, srv.Password, false)
	t.Setenv("XDG_DATA_HOME", disk)
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", cfg, mnt)
	inbox := filepath.Join(mnt, "pop", "INBOX")
	eventually(t, 20*time.Second, "INBOX never listed the first message", func() bool { return len(listEML(t, inbox)) == 1 })
	eventually(t, 20*time.Second, "the first message was not deleted on the server", func() bool { return len(srv.Messages()) == 0 })
	archive := filepath.Join(mnt, "pop", "Archive")
	if err := os.Mkdir(archive, 0o700); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(disk, "mailfs", "pop3")

	filler := tmpfs.Fill(t, disk, 0)
	big := bigMessage("big")
	srv.Add(big)
	eventually(t, 30*time.Second, "no download failed with ENOSPC", func() bool {
		listEML(t, inbox) // a listing 5 s after the last poll polls
		return strings.Contains(logs.String(), "no space left on device")
	})
	if got := listEML(t, inbox); len(got) != 1 {
		t.Errorf("INBOX on a full disk: %v, want the first message only", got)
	}
	if got := srv.Messages(); len(got) != 1 {
		t.Errorf("server holds %d messages, want the one not stored (no DELE)", len(got))
	}
	if got := readAll(t, inbox); !sameMessages(got, [][]byte{first}) {
		t.Errorf("stored message on a full disk: got %q, want %q", got, first)
	}
	if tmp := tempFilesUnder(storeDir); len(tmp) > 0 {
		t.Errorf("temporary files left in the store: %v", tmp)
	}
	src := filepath.Join(t.TempDir(), "note.eml")
	if err := os.WriteFile(src, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", src, archive+"/").CombinedOutput(); err == nil || !strings.Contains(string(out), "No space left on device") {
		t.Errorf("cp into a POP3 folder on a full disk: %v, %q; want No space left on device", err, out)
	}
	if got := listEML(t, archive); len(got) != 0 {
		t.Errorf("Archive after the failed cp: %v, want empty", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the message was not downloaded after space was freed", func() bool { return len(listEML(t, inbox)) == 2 })
	if got := readAll(t, inbox); !sameMessages(got, [][]byte{first, big}) {
		t.Errorf("stored messages after freeing space differ from the server's")
	}
	eventually(t, 20*time.Second, "the message was not deleted on the server once stored", func() bool { return len(srv.Messages()) == 0 })
	if out, err := exec.Command("cp", src, archive+"/").CombinedOutput(); err != nil {
		t.Errorf("cp into a POP3 folder after freeing space: %v: %s", err, out)
	}
}
