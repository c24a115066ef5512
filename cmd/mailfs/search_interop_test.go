package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/internal/config"
	"mailfs/internal/interop"
)

// TestDovecotSearchFolders makes a saved search through the mount against
// Dovecot: it lists what matches from every folder but Trash, a delivery
// that matches appears in it, rm through it obeys the delete rule (Trash)
// and the message leaves it, and the saved search outlives the mount.
func TestDovecotSearchFolders(t *testing.T) {
	d := interop.StartDovecot(t, &interop.DovecotOptions{SpecialUse: true})
	for i, subject := range []string{"Quarterly report", "Lunch", "Invoice"} {
		d.Deliver(t, "alice", "INBOX", testMail(i+1, subject))
	}
	d.Deliver(t, "alice", "Archive", testMail(4, "Old invoice"))
	d.Deliver(t, "alice", "Trash", testMail(6, "Trashed invoice")) // searches leave Trash out
	cfg := dovecotConfig(t, d, d.IMAPSPort, "implicit")
	data := t.TempDir() // the saved searches live here, across mounts
	t.Setenv("XDG_DATA_HOME", data)
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	search := filepath.Join(mnt, "dove", ".search")

	q := filepath.Join(search, "subject:invoice")
	if err := os.Mkdir(q, 0o700); err != nil {
		t.Fatalf("mkdir %s: %v", q, err)
	}
	got := names(t, q)
	if len(got) != 2 || !strings.Contains(got[0], "_Invoice_") || !strings.Contains(got[1], "_Old-invoice_") { // ReadDir sorts by name
		t.Fatalf("subject:invoice lists %q, want the Archive and the INBOX invoice (not the one in Trash)", got)
	}
	for _, n := range got {
		if b := mustRead(t, filepath.Join(q, n)); !bytes.Contains(b, []byte("Subject: ")) {
			t.Errorf("%s reads %q", n, b)
		}
	}
	if got := names(t, filepath.Join(search, "unread")); len(got) != 4 {
		t.Errorf("unread lists %q, want the 4 messages", got)
	}

	// A delivery that matches appears (IDLE on INBOX, then the next ls).
	d.Deliver(t, "alice", "INBOX", testMail(5, "Invoice reminder"))
	eventually(t, 10*time.Second, "the new invoice in the saved search", func() bool {
		return len(names(t, q)) == 3
	})

	// rm through the search folder: to Trash, as rm in INBOX would.
	var lunch string
	for _, n := range names(t, filepath.Join(search, "unread")) {
		if strings.Contains(n, "Lunch_") {
			lunch = n
		}
	}
	if lunch == "" {
		t.Fatal("no Lunch in unread")
	}
	if err := os.Remove(filepath.Join(search, "unread", lunch)); err != nil {
		t.Fatalf("rm through unread: %v", err)
	}
	trash := d.Messages(t, "alice", "Trash")
	if len(trash) != 2 || !slices.ContainsFunc(slices.Collect(maps.Values(trash)), func(b []byte) bool { return bytes.Contains(b, []byte("Subject: Lunch")) }) {
		t.Fatalf("Trash holds %d messages, want the trashed invoice and Lunch", len(trash))
	}
	// Lunch is still unread, in Trash: the search leaves it out now.
	if slices.ContainsFunc(names(t, filepath.Join(search, "unread")), func(n string) bool { return strings.Contains(n, "Lunch_") }) {
		t.Errorf("unread still lists Lunch after rm (from Trash)")
	}
	if slices.ContainsFunc(names(t, filepath.Join(mnt, "dove", "INBOX")), func(n string) bool { return strings.Contains(n, "Lunch_") }) {
		t.Errorf("Lunch still in INBOX")
	}

	// The saved search is in the data directory, and a new mount has it.
	b, err := os.ReadFile(filepath.Join(data, "mailfs", "searches.json"))
	if err != nil || !bytes.Contains(b, []byte(`"subject:invoice"`)) {
		t.Errorf("searches.json = %q, %v", b, err)
	}
	mnt2 := t.TempDir()
	runMount(t, "mount", "-config", dovecotConfig(t, d, d.IMAPSPort, "implicit"), mnt2) // a cache of its own
	if got := names(t, filepath.Join(mnt2, "dove", ".search")); !slices.Contains(got, "subject:invoice") {
		t.Errorf("a second mount's .search lists %q", got)
	}
}

// names returns the names in dir, failing the test when it cannot be read.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// bigAttachmentMail is a message with a short text part and an attachment
// of size bytes (base64).
func bigAttachmentMail(size int) []byte {
	payload := bytes.Repeat([]byte("mailfs-parts "), size/13+1)[:size]
	enc := base64.StdEncoding.EncodeToString(payload)
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	lines.WriteString(enc + "\r\n")
	return fmt.Appendf(nil, "From: Dana <dana@example.org>\r\nTo: alice@example.org\r\nSubject: Big scan\r\n"+
		"Date: Wed, 18 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+
		"Gr=FC=DFe, the scan is attached.\r\n"+
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%%EB%%B3%%B4%%EA%%B3%%A0%%EC%%84%%9C.pdf\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n%s--b1--\r\n", lines.String())
}

// TestDovecotParts reads a message's parts through NAME.eml.d/ against
// Dovecot: the text decoded to UTF-8, the Korean-named attachment's bytes,
// the decoded header; reading the text of a 3 MB message does not fetch
// the message (the cache holds only the parts read), and no flag changes.
func TestDovecotParts(t *testing.T) {
	d := interop.StartDovecot(t, &interop.DovecotOptions{SpecialUse: true})
	const size = 3 << 20
	d.Deliver(t, "alice", "INBOX", bigAttachmentMail(size))
	d.Deliver(t, "alice", "INBOX", []byte("From: Eve <eve@example.org>\r\nTo: alice@example.org\r\nSubject: Forwarded\r\n"+
		"Date: Wed, 18 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=g\r\n\r\n"+
		"--g\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"+
		"--g\r\nContent-Type: message/global\r\n\r\nSubject: Weitergeleitet\r\n\r\nGrüße\r\n--g--\r\n"))
	cfg := dovecotConfig(t, d, d.IMAPSPort, "implicit")
	parsed, _, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := parsed.Cache.Dir
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	inbox := filepath.Join(mnt, "dove", "INBOX")
	msgs := names(t, inbox)
	if len(msgs) != 2 || !strings.Contains(msgs[0], "Big-scan") || !strings.Contains(msgs[1], "Forwarded") {
		t.Fatalf("INBOX lists %q", msgs)
	}
	flagsBefore := d.Flags(t, "alice", "INBOX")

	// go-imap cannot read Dovecot's BODYSTRUCTURE of a message/global
	// part: the structure comes from the whole message instead, and the
	// account stays online for what follows.
	if got := names(t, inbox+"/"+msgs[1]+".d"); !slices.Equal(got, []string{"headers", "message-2.eml", "text"}) {
		t.Errorf("%s.d lists %q", msgs[1], got)
	}
	if got := string(mustRead(t, inbox+"/"+msgs[1]+".d/message-2.eml")); !strings.HasPrefix(got, "Subject: Weitergeleitet\r\n") {
		t.Errorf("the attached message/global reads %q", got)
	}

	parts := inbox + "/" + msgs[0] + ".d"
	if got := names(t, parts); !slices.Equal(got, []string{"headers", "text", "보고서.pdf"}) {
		t.Errorf("%s lists %q", parts, got)
	}
	if got := string(mustRead(t, filepath.Join(parts, "text"))); got != "Grüße, the scan is attached." { // the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1)
		t.Errorf("text = %q", got)
	}
	if got := string(mustRead(t, filepath.Join(parts, "headers"))); !strings.Contains(got, "Subject: Big scan\n") {
		t.Errorf("headers = %q", got)
	}
	// Only the text and the header were fetched: the cache is far smaller
	// than the message.
	if n := dirSize(t, cacheDir); n == 0 || n > size/4 {
		t.Errorf("the cache holds %d bytes after reading the text of a %d-byte message: the message was fetched", n, size)
	}
	pdf := mustRead(t, filepath.Join(parts, "보고서.pdf"))
	if len(pdf) != size || !bytes.HasPrefix(pdf, []byte("mailfs-parts mailfs-parts")) {
		t.Errorf("the attachment reads %d bytes (%q…), want %d", len(pdf), pdf[:min(len(pdf), 20)], size)
	}
	if fi, err := os.Stat(filepath.Join(parts, "보고서.pdf")); err != nil || fi.Size() != size {
		t.Errorf("Stat(attachment) after reading = %v, %v, want size %d", fi, err, size)
	}
	if got := d.Flags(t, "alice", "INBOX"); !equalFlags(got, flagsBefore) {
		t.Errorf("flags changed by reading the parts: %v → %v", flagsBefore, got)
	}
	if got := names(t, inbox); slices.ContainsFunc(got, func(n string) bool { return strings.HasSuffix(n, ".d") }) {
		t.Errorf("INBOX lists %q: parts directories must not be listed", got)
	}
}

// dirSize returns the bytes of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".db") {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
