package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	mailfs "mailfs/fs"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// sample is a message the test puts on the server and expects on the mount.
type sample struct {
	mailbox string
	subject string // decoded, as the name's slug is made from it
	header  string // Subject: header value as written
	date    time.Time
	body    []byte
	uid     uint32
}

func (s *sample) path(mnt, account string) string {
	name := mailfs.FileName(remote.MessageInfo{UID: s.uid, InternalDate: s.date, Subject: s.subject}, "descriptive")
	return filepath.Join(append([]string{mnt, account}, append(strings.Split(s.mailbox, "/"), name)...)...)
}

// seedSamples appends a varied set of messages to srv and returns them with
// their UIDs.
func seedSamples(t *testing.T, srv *remotetest.IMAP) []*sample {
	t.Helper()
	seoul := time.FixedZone("KST", 9*3600)
	samples := []*sample{
		{mailbox: "INBOX", subject: "Quarterly report", header: "Quarterly report", date: time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)},
		{mailbox: "INBOX", subject: "회의 안내", header: "=?UTF-8?B?7ZqM7J2YIOyViOuCtA==?=", date: time.Date(2026, 11, 21, 23, 30, 0, 0, seoul)},
		{mailbox: "INBOX", subject: "", header: "", date: time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{mailbox: "INBOX", subject: "Re: a/b testing?! results", header: "Re: a/b testing?! results", date: time.Date(2026, 11, 23, 12, 1, 0, 0, time.FixedZone("EST", -5*3600))},
		{mailbox: "Archive/2024", subject: "Déjà vu", header: "=?ISO-8859-1?Q?D=E9j=E0_vu?=", date: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{mailbox: "보관함", subject: "Korean folder", header: "Korean folder", date: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)},
	}
	for _, mb := range []string{"Archive", "Archive/2024", "보관함"} {
		if err := srv.CreateMailbox(mb); err != nil {
			t.Fatalf("create %s: %v", mb, err)
		}
	}
	for i, s := range samples {
		s.body = []byte(fmt.Sprintf("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <m%d@example.org>\r\n\r\nBody of message %d.\r\nNeedle-%d\r\n",
			s.header, s.date.Format(time.RFC1123Z), i, i, i))
		uid, err := srv.Append(s.mailbox, s.body, nil, s.date)
		if err != nil {
			t.Fatal(err)
		}
		s.uid = uid
	}
	return samples
}

func imapConfig(t *testing.T, srv *remotetest.IMAP, cacheDir string) string {
	return imapConfigPort(t, srv, srv.Port(), cacheDir)
}

// imapConfigPort is imapConfig for srv reached at another port of
// 127.0.0.1 (a proxy in front of it).
func imapConfigPort(t *testing.T, srv *remotetest.IMAP, port int, cacheDir string) string {
	return imapConfigWith(t, srv, port, cacheDir, "")
}

// imapConfigWith is imapConfigPort with extra lines at the end of
// [accounts.imap].
func imapConfigWith(t *testing.T, srv *remotetest.IMAP, port int, cacheDir, extra string) string {
	return writeConfig(t, `
[cache]
dir = %q

[[accounts]]
name = "test"
addresses = ["bob@example.org"]
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = %q
  password = %q
%s
`, cacheDir, port, srv.Username, srv.Password, extra)
}

// TestMountShowsServerMail mounts an in-process IMAP server through the
// whole stack and checks what the file API sees against what the server
// holds.
func TestMountShowsServerMail(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	samples := seedSamples(t, srv)
	flagsBefore := map[string]map[uint32][]string{}
	for _, mb := range []string{"INBOX", "Archive/2024", "보관함"} {
		fl, err := srv.Flags(mb)
		if err != nil {
			t.Fatal(err)
		}
		flagsBefore[mb] = fl
	}
	mnt := t.TempDir()
	runMount(t, "mount", "-config", imapConfig(t, srv, t.TempDir()), mnt)

	names := dirNames(t, mnt)
	if !slices.Contains(names, "test") {
		t.Fatalf("root lists %v, want the account directory test", names)
	}
	for _, dir := range []string{"test/INBOX", "test/Archive", "test/Archive/2024", "test/보관함"} {
		st, err := os.Stat(filepath.Join(mnt, dir))
		if err != nil || !st.IsDir() {
			t.Errorf("stat %s: %v, want a directory", dir, err)
		}
	}

	for _, s := range samples {
		p := s.path(mnt, "test")
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("stat %s: %v", p, err)
			continue
		}
		if st.Size() != int64(len(s.body)) {
			t.Errorf("%s: size %d, want %d", p, st.Size(), len(s.body))
		}
		if !st.ModTime().Equal(s.date) {
			t.Errorf("%s: mtime %v, want %v", p, st.ModTime(), s.date)
		}
		if st.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v, want 0444", p, st.Mode())
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
		} else if !bytes.Equal(got, s.body) {
			t.Errorf("%s: content differs from the server's:\ngot  %q\nwant %q", p, got, s.body)
		}
	}

	// A walk that reads everything, as grep -r does.
	files := 0
	err := filepath.WalkDir(mnt, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files++
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if files != len(samples) {
		t.Errorf("walk found %d files, want %d", files, len(samples))
	}
	for mb, before := range flagsBefore {
		after, err := srv.Flags(mb)
		if err != nil {
			t.Fatal(err)
		}
		for uid, fl := range after {
			if slices.Contains(fl, `\Seen`) && !slices.Contains(before[uid], `\Seen`) {
				t.Errorf("%s UID %d: reading set \\Seen (flags %v)", mb, uid, fl)
			}
		}
	}

	// New mail on the server shows up when the folder is listed again.
	fresh := &sample{mailbox: "INBOX", subject: "Arrived later", header: "Arrived later", date: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	fresh.body = []byte("From: carol@example.org\r\nSubject: Arrived later\r\n\r\nhello\r\n")
	if fresh.uid, err = srv.Append("INBOX", fresh.body, nil, fresh.date); err != nil {
		t.Fatal(err)
	}
	want := filepath.Base(fresh.path(mnt, "test"))
	eventually(t, 20*time.Second, "new message "+want+" never appeared in ls INBOX", func() bool {
		entries, err := os.ReadDir(filepath.Join(mnt, "test", "INBOX"))
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == want })
	})
	if got, err := os.ReadFile(fresh.path(mnt, "test")); err != nil || !bytes.Equal(got, fresh.body) {
		t.Errorf("read new message: %q, %v; want %q", got, err, fresh.body)
	}
	if err := os.WriteFile(samples[0].path(mnt, "test"), []byte("x"), 0o644); !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
		t.Errorf("writing a message: %v, want EACCES", err)
	}
}

// TestMountOffline mounts, reads a message, unmounts, takes the server away
// and mounts again from the same cache: the tree and the cached message are
// still there, an uncached one fails with EIO.
func TestMountOffline(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	samples := seedSamples(t, srv)
	cacheDir := t.TempDir()
	cfg := imapConfig(t, srv, cacheDir)

	t.Run("online", func(t *testing.T) {
		mnt := t.TempDir()
		runMount(t, "mount", "-config", cfg, mnt)
		for _, dir := range []string{"INBOX", "Archive/2024", "보관함"} {
			if _, err := os.ReadDir(filepath.Join(mnt, "test", dir)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.ReadFile(samples[0].path(mnt, "test")); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}
	srv.SetDown(true)
	t.Run("offline", func(t *testing.T) {
		mnt := t.TempDir()
		logs := runMount(t, "mount", "-config", cfg, mnt)
		entries, err := os.ReadDir(filepath.Join(mnt, "test", "INBOX"))
		if err != nil {
			t.Fatalf("ls INBOX offline: %v", err)
		}
		if len(entries) != 4 {
			t.Errorf("offline INBOX lists %d messages, want 4", len(entries))
		}
		if _, err := os.Stat(samples[4].path(mnt, "test")); err != nil {
			t.Errorf("offline stat in Archive/2024: %v", err)
		}
		got, err := os.ReadFile(samples[0].path(mnt, "test"))
		if err != nil || !bytes.Equal(got, samples[0].body) {
			t.Errorf("cached message offline: %q, %v; want %q", got, err, samples[0].body)
		}
		// Archive/2024 was listed but none of its messages read (nor read
		// ahead, which stays within a folder).
		_, err = os.ReadFile(samples[4].path(mnt, "test"))
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("uncached message offline: %v, want EIO", err)
		}
		if !strings.Contains(logs.String(), "level=WARN") && !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("no warning or error logged for the unreachable server; logs:\n%s", logs)
		}
	})
}
