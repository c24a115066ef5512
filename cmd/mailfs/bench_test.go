package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// BenchmarkGrep runs `grep -r` over a 1,000-message folder mounted from the
// in-process IMAP server and, in the same run, over a copy of the same files
// on local disk, the reference. "cold" greps a fresh mount (every body
// fetched from the server); "warm" greps again (served by the kernel's page
// cache and the daemon's answers to OPEN). The ratio is mount time over
// local-disk time.
func BenchmarkGrep(b *testing.B) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		b.Skip("skipping: needs /dev/fuse and root to mount")
	}
	const n = 1000
	srv := remotetest.NewIMAP(b, nil)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := srv.Append("INBOX", remotetest.SampleMessage(i), nil, base.Add(time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	cfg := writeConfigB(b, `
[cache]
dir = %q
[[accounts]]
name = "bench"
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = %q
  password = %q
`, b.TempDir(), srv.Port(), srv.Username, srv.Password)

	mnt := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"mount", "-config", cfg, mnt}, os.Stderr, os.Stderr) }()
	b.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(20 * time.Second); !isMounted(b, mnt); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("not mounted after 20s")
		}
	}
	dir := filepath.Join(mnt, "bench", "INBOX")
	grep := func(b *testing.B, dir string) time.Duration {
		start := time.Now()
		// Exit status 1 (no line matched) is fine: grep read everything.
		out, err := exec.Command("grep", "-r", "-c", "no-such-needle-42", dir).Output()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
			b.Fatalf("grep -r %s: %v: %s", dir, err, out)
		}
		return time.Since(start)
	}

	cold := grep(b, dir) // fetches every body into the cache
	local := b.TempDir()
	if out, err := exec.Command("cp", "-r", dir+"/.", local).CombinedOutput(); err != nil {
		b.Fatalf("copy to local disk: %v: %s", err, out)
	}
	grep(b, local) // warm the local copy's page cache too

	var mountTime, localTime time.Duration
	for b.Loop() {
		mountTime += grep(b, dir)
		localTime += grep(b, local)
	}
	b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
	b.ReportMetric(float64(mountTime.Microseconds())/1000/float64(b.N), "warm-mount-ms")
	b.ReportMetric(float64(localTime.Microseconds())/1000/float64(b.N), "local-ms")
	b.ReportMetric(float64(mountTime)/float64(localTime), "mount/local")
}

func writeConfigB(b *testing.B, format string, args ...any) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(format, args...)), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
