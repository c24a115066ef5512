package statedir

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivateCreatesAndTightens(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dir := filepath.Join(t.TempDir(), "a", "spool")
	if err := Private(dir, "test dir", log); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("new dir: %v, %v; want 0700", fi.Mode(), err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := Private(dir, "test dir", log); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("0777 dir after Private: %v, want 0700", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "open to other users") {
		t.Errorf("no warning for a dir open to others:\n%s", logs.String())
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if err := Private(file, "test dir", log); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Private of a file: %v, want 'not a directory'", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(t.TempDir(), link)
	if err := Private(link, "test dir", log); err == nil {
		t.Error("Private of a symbolic link succeeded")
	}
}

// Directories and files of another user are refused (needs root to make
// them).
func TestForeignOwnerRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to give a file to another user")
	}
	log := slog.New(slog.DiscardHandler)
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := Private(dir, "outbox spool", log); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("Private of another user's dir: %v, want a refusal naming the owner", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o777 {
		t.Errorf("a refused dir was changed: %v", fi.Mode().Perm())
	}

	// Ours, but something inside was planted while it was open.
	mine := filepath.Join(t.TempDir(), "spool")
	os.MkdirAll(filepath.Join(mine, "queue"), 0o700)
	planted := filepath.Join(mine, "queue", "x.eml")
	os.WriteFile(planted, []byte("To: a@b\r\n\r\nforged\r\n"), 0o644)
	if err := OwnedTree(mine, "outbox spool"); err != nil {
		t.Fatalf("OwnedTree of our own tree: %v", err)
	}
	os.Chown(planted, 65534, 65534)
	if err := OwnedTree(mine, "outbox spool"); err == nil || !strings.Contains(err.Error(), planted) {
		t.Errorf("OwnedTree with a planted file: %v, want a refusal naming it", err)
	}
	os.Chown(planted, 0, 0)
	os.Chmod(filepath.Join(mine, "queue"), 0o777)
	if err := OwnedTree(mine, "outbox spool"); err == nil || !strings.Contains(err.Error(), "written by other users") {
		t.Errorf("OwnedTree with a world-writable directory: %v, want a refusal", err)
	}
}
