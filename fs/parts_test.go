package fs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// partsMail is a multipart message with quoted-printable text, base64
// HTML, and attachments whose names are hostile or taken.
const partsMail = "From: a@example.org\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= parts\r\n" +
	"Date: Fri, 20 Nov 2026 09:15:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n" +
	"--b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Gr=FC=DFe aus K=F6ln\r\n" +
	"--b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"PHA+R3LDvMOfZTwvcD4=\r\n" +
	"--b2--\r\n" +
	"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../x\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n" +
	"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"text\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n" +
	"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n" +
	"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n" +
	"--b1--\r\n"

// TestParts reads a POP3 message's parts through NAME.eml.d/: not listed,
// the header decoded, text and html decoded to UTF-8, attachments under
// safe, unique names with their bytes.
func TestParts(t *testing.T) {
	store := twoMessageStore(t)
	if _, err := store.Append(context.Background(), "INBOX", strings.NewReader(partsMail), int64(len(partsMail)), nil); err != nil {
		t.Fatal(err)
	}
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{TempDir: t.TempDir()})
	inbox := filepath.Join(mnt, "pop", "INBOX")
	var eml string
	for _, n := range readDirNames(t, inbox) {
		if strings.Contains(n, "Grüße-parts") {
			eml = n
		}
		if strings.HasSuffix(n, partsSuffix) {
			t.Errorf("INBOX lists %q: parts directories must not be listed", n)
		}
	}
	if eml == "" {
		t.Fatalf("INBOX = %q, no Grüße parts", readDirNames(t, inbox))
	}
	dir := filepath.Join(inbox, eml+partsSuffix)
	want := []string{"..∕..∕x", "headers", "html", "text", "text~2", "보고서.pdf", "보고서~2.pdf"} // as ReadDir sorts them
	if got := readDirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("parts = %q, want %q", got, want)
	}
	for name, body := range map[string]string{
		"text":         "Grüße aus Köln", // BODY[1.1]: the CRLF before the boundary is the boundary's
		"html":         "<p>Grüße</p>",
		"..∕..∕x":      "hi",
		"text~2":       "hi",
		"보고서.pdf":      "%PDF-",
		"보고서~2.pdf":    "%PDF-",
		"headers":      "From: a@example.org\nSubject: Grüße parts\nDate: Fri, 20 Nov 2026 09:15:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n",
		"nonexistent!": "",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if body == "" {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile(%s) = %v, want ENOENT", name, err)
			}
			continue
		}
		if err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", name, b, err, body)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() != int64(len(body)) || fi.Mode() != 0o444 {
			t.Errorf("Stat(%s) after reading = %v, %v; want size %d, mode 0444", name, fi, err, len(body))
		}
	}
	// Read-only.
	if err := os.WriteFile(filepath.Join(dir, "text"), []byte("x"), 0o600); !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
		t.Errorf("writing a part = %v, want EACCES", err)
	}
	if err := os.Remove(filepath.Join(dir, "text")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rm of a part = %v, want EPERM", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "text")); err != nil || len(b) == 0 {
		t.Errorf("the part after a refused rm: %q, %v", b, err)
	}
	// A single-part message: headers and text.
	names := readDirNames(t, inbox)
	var first string
	for _, n := range names {
		if strings.Contains(n, "first") {
			first = n
		}
	}
	if got := readDirNames(t, filepath.Join(inbox, first+partsSuffix)); !slices.Equal(got, []string{"headers", "text"}) { // sorted
		t.Errorf("parts of a plain message = %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(inbox, first+partsSuffix, "text")); err != nil || string(b) != "One.\r\n" {
		t.Errorf("text of a plain message = %q, %v", b, err)
	}
}

// TestPartsHostileNames mounts the corpus's message of hostile attachment
// names (../../x, NUL, 300 bytes, control characters, empty, taken twice)
// and checks that every name in its parts directory is one a shell can
// handle safely, that they are unique, and that each file reads.
func TestPartsHostileNames(t *testing.T) {
	msg, err := os.ReadFile(filepath.Join("..", "internal", "mimeparts", "testdata", "hostile-names.eml"))
	if err != nil {
		t.Fatal(err)
	}
	msg = []byte(strings.ReplaceAll(strings.ReplaceAll(string(msg), "\r\n", "\n"), "\n", "\r\n"))
	store := twoMessageStore(t)
	if _, err := store.Append(context.Background(), "INBOX", strings.NewReader(string(msg)), int64(len(msg)), nil); err != nil {
		t.Fatal(err)
	}
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{TempDir: t.TempDir()})
	inbox := filepath.Join(mnt, "pop", "INBOX")
	var dir string
	for _, n := range readDirNames(t, inbox) {
		if strings.Contains(n, "hostile") {
			dir = filepath.Join(inbox, n+partsSuffix)
		}
	}
	if dir == "" {
		t.Fatalf("no hostile message in %q", readDirNames(t, inbox))
	}
	names := readDirNames(t, dir)
	seen := map[string]bool{}
	for _, n := range names {
		if !utf8.ValidString(n) || n == "." || n == ".." || len(n) > 255 || strings.ContainsAny(n, "/\x00") ||
			strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("unsafe name %q", n)
		}
		if seen[n] {
			t.Errorf("name %q twice", n)
		}
		seen[n] = true
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || len(b) == 0 {
			t.Errorf("%q reads %d bytes, %v", n, len(b), err)
		}
	}
	for _, want := range []string{"..∕..∕x", "nul␀byte.bin", "ctl␁␇␛[31mred␍␊line␉tab.txt", "part-6.pdf", "report.pdf", "report~2.pdf"} {
		if !seen[want] {
			t.Errorf("no %q among %q", want, names)
		}
	}
	// The 300-byte name is cut, with a hash of the whole.
	if !slices.ContainsFunc(names, func(n string) bool {
		return strings.HasPrefix(n, strings.Repeat("A", 200)) && len(n) <= 255 && strings.Contains(n, "~")
	}) {
		t.Errorf("no cut 300-byte name among %q", names)
	}
}
