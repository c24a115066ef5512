package sigstorm

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadTreeLocal reads a local tree, which never answers EINTR, through
// the storm: every file, every byte, and the process survives the signals.
func TestReadTreeLocal(t *testing.T) {
	root := t.TempDir()
	want := map[string]string{
		"a.eml":       "first\r\n",
		"sub/b.eml":   string(make([]byte, 100<<10)),
		"sub/c/d.eml": "",
	}
	for name, body := range want {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadTree(root, time.Millisecond)
	if err != nil {
		t.Fatalf("ReadTree: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("ReadTree read %d files, want %d", len(got), len(want))
	}
	for name, body := range want {
		if b, ok := got[name]; !ok || string(b) != body {
			t.Errorf("%s: got %d bytes (present %v), want %d", name, len(b), ok, len(body))
		}
	}
}
