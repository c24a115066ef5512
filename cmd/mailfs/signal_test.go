package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	mfs "mailfs/fs"
	"mailfs/internal/sigstorm"
	"mailfs/remote/remotetest"
)

// TestSignalsDuringColdReads reads a folder nobody listed or read, through
// the whole stack and a proxy adding 40 ms per round trip, with a reader
// whose thread gets SIGALRM, SIGCHLD and SIGURG every millisecond and
// never retries EINTR: every getdents, stat, open and read succeeds (the
// kernel's INTERRUPT cancels no work), and every file holds the server's
// bytes.
func TestSignalsDuringColdReads(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seedFolder(t, srv, 60)
	if err := srv.CreateMailbox("Cold"); err != nil {
		t.Fatal(err)
	}
	cold := map[uint32][]byte{}
	for i := range 20 {
		msg := fmt.Appendf(nil, "Subject: cold %d\r\n\r\nnever listed before %d\r\n", i, i)
		uid, err := srv.Append("Cold", msg, nil, time.Date(2026, 11, 2, 0, i, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		cold[uid] = msg
	}
	proxy := remotetest.NewProxy(t, srv.Addr, &remotetest.ProxyOptions{Latency: 40 * time.Millisecond})
	mnt := t.TempDir()
	runMount(t, "mount", "-config", imapConfigPort(t, srv, proxy.Port(), t.TempDir()), mnt)

	// The account directory, both folders and every message: all cold.
	files, err := sigstorm.ReadTree(filepath.Join(mnt, "test"), time.Millisecond)
	if err != nil {
		t.Fatalf("reading the cold tree under a signal storm: %v", err)
	}
	check := func(folder string, want map[uint32][]byte) {
		n := 0
		for path, got := range files {
			dir, name := filepath.Split(path)
			if dir != folder+"/" {
				continue
			}
			n++
			uid, ok := mfs.ParseUID(name)
			if !ok || !bytes.Equal(got, want[uid]) {
				t.Errorf("%s: %d bytes, want the server's %d", path, len(got), len(want[uid]))
			}
		}
		if n != len(want) {
			t.Errorf("%s: read %d files, want %d", folder, n, len(want))
		}
	}
	check("INBOX", msgs)
	check("Cold", cold)
}
