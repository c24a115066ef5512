package fs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

// benchSource is a Source of one mailbox, INBOX, whose bodies are files
// in dir: Open opens one, as the cache does on a hit.
type benchSource struct {
	dir     string
	listing *remote.Listing
}

func (s *benchSource) Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error) {
	return []remote.Mailbox{{Name: "INBOX", Delim: '/'}}, nil
}

func (s *benchSource) List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error) {
	return s.listing, nil
}

func (s *benchSource) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	return os.Open(s.bodyPath(uid))
}

func (s *benchSource) bodyPath(uid uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%d.eml", uid))
}

// newBenchSource writes n messages of about 17 KB into a fresh directory;
// one in a hundred holds NEEDLE.
func newBenchSource(b *testing.B, n int) *benchSource {
	b.Helper()
	s := &benchSource{dir: b.TempDir(), listing: &remote.Listing{UIDValidity: 1}}
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
	filler := strings.Repeat(line, 17_000/len(line))
	date := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	for uid := uint32(1); uid <= uint32(n); uid++ {
		body := fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\n%s", uid, filler)
		if uid%100 == 0 {
			body += "NEEDLE\r\n"
		}
		if err := os.WriteFile(s.bodyPath(uid), []byte(body), 0o600); err != nil {
			b.Fatal(err)
		}
		s.listing.Messages = append(s.listing.Messages, remote.MessageInfo{
			UID: uid, Size: int64(len(body)), InternalDate: date.Add(time.Duration(uid) * time.Minute), Subject: fmt.Sprintf("message %d", uid),
		})
	}
	return s
}

// grepFiles runs grep -rl NEEDLE dir and checks that it found want files.
func grepFiles(b *testing.B, dir string, want int) time.Duration {
	b.Helper()
	start := time.Now()
	out, err := exec.Command("grep", "-rl", "NEEDLE", dir).Output()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("grep -rl NEEDLE %s: %v", dir, err)
	}
	if got := strings.Count(string(out), "\n"); got != want {
		b.Fatalf("grep -rl NEEDLE %s found %d files, want %d", dir, got, want)
	}
	return elapsed
}

// BenchmarkWarmGrepModes measures a warm grep -rl over 10,000 messages of
// about 17 KB through the mount in each of the kernel's open and flush
// modes, against the same files on local disk in the same run (reported
// as x-local: mount time / local time):
//
//   - A: real opens, FOPEN_KEEP_CACHE: OPEN, FLUSH and RELEASE per file
//     (mailfs before FOPEN_NOFLUSH).
//   - A': real opens, FOPEN_KEEP_CACHE|FOPEN_NOFLUSH: OPEN and RELEASE
//     (which close does not wait for). What Mount does.
//   - B: no-open mode (OPEN answers ENOSYS): FLUSH per file.
//   - C: no-open and no-flush modes: no request per file.
//
// Every sub-benchmark mounts afresh and reads everything once (cold)
// before it measures. B and C need a filesystem whose created files
// never report a failing close, which mailfs is not; they are here to
// show what the modes are worth.
func BenchmarkWarmGrepModes(b *testing.B) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		b.Skipf("skipping: /dev/fuse is missing (%v)", err)
	}
	if os.Geteuid() != 0 {
		b.Skip("skipping: mounting many times needs root (mount(2) directly)")
	}
	if _, err := exec.LookPath("grep"); err != nil {
		b.Skip("skipping: grep not found")
	}
	const n = 10_000
	src := newBenchSource(b, n)
	grepFiles(b, src.dir, n/100) // the local files into the page cache
	for _, m := range []struct {
		name string
		mode fuseMode
	}{
		{"A=open+flush", fuseMode{flushAll: true}},
		{"A'=open+noflush", fuseMode{}},
		{"B=no-open", fuseMode{noOpen: true}},
		{"C=no-open+no-flush", fuseMode{noOpen: true, noFlush: true}},
	} {
		b.Run(m.name, func(b *testing.B) {
			c := newOpCounter(m.mode)
			mnt := mountBench(b, []Account{{Name: "work", Source: src}}, &Options{wrapRaw: c.wrap})
			dir := filepath.Join(mnt, "work/INBOX")
			grepFiles(b, dir, n/100) // cold: every body into the page cache
			grepFiles(b, dir, n/100) // warm once: attributes the cold reads left stale
			c.take()
			var mount, local time.Duration
			runs := 0
			for b.Loop() {
				mount += grepFiles(b, dir, n/100)
				b.StopTimer()
				local += grepFiles(b, src.dir, n/100)
				b.StartTimer()
				runs++
			}
			ops := c.take()
			b.ReportMetric(local.Seconds()/float64(runs), "local-s/op")
			b.ReportMetric(mount.Seconds()/local.Seconds(), "x-local")
			perFile := 0
			for _, k := range []string{"OPEN", "FLUSH", "RELEASE", "GETATTR", "LOOKUP", "READ"} {
				perFile += ops[k]
			}
			b.ReportMetric(float64(perFile)/float64(runs*n), "reqs/file")
			b.Logf("%s: FUSE requests in %d warm runs: %s", m.name, runs, formatOps(ops))
		})
	}
}

// mountBench mounts accounts for a benchmark and unmounts them when it
// ends.
func mountBench(b *testing.B, accounts []Account, opts *Options) string {
	b.Helper()
	dir := b.TempDir()
	srv, err := Mount(dir, accounts, opts)
	if err != nil {
		b.Fatalf("Mount: %v", err)
	}
	b.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			b.Errorf("Unmount: %v", err)
			return
		}
		srv.Wait()
	})
	return dir
}

// BenchmarkWarmLsLong measures a warm ls -l of a folder of 10,000
// messages and reports the FUSE requests it costs (reqs/op, and the
// GETXATTRs among them) besides its time.
func BenchmarkWarmLsLong(b *testing.B) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		b.Skipf("skipping: /dev/fuse is missing (%v)", err)
	}
	if os.Geteuid() != 0 {
		b.Skip("skipping: needs root (mount(2) directly)")
	}
	const n = 10_000
	src := newBenchSource(b, n)
	c := newOpCounter(fuseMode{})
	mnt := mountBench(b, []Account{{Name: "work", Source: src}}, &Options{wrapRaw: c.wrap})
	dir := filepath.Join(mnt, "work/INBOX")
	lsLong := func() {
		out, err := exec.Command("ls", "-l", dir).Output()
		if err != nil {
			b.Fatalf("ls -l: %v", err)
		}
		if got := strings.Count(string(out), "\n"); got != n+1 { // and "total"
			b.Fatalf("ls -l printed %d lines, want %d", got, n+1)
		}
	}
	lsLong() // cold: the kernel learns every entry
	c.take()
	runs := 0
	for b.Loop() {
		lsLong()
		runs++
	}
	ops := c.take()
	total := 0
	for _, v := range ops {
		total += v
	}
	b.ReportMetric(float64(total)/float64(runs), "reqs/op")
	b.ReportMetric(float64(ops["GETXATTR"])/float64(runs), "getxattr/op")
	b.Logf("FUSE requests in %d warm runs: %s", runs, formatOps(ops))
}
