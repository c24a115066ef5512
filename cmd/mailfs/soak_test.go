package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// TestSoakLiveMailbox mounts the in-process server and delivers a message
// every 2 s to INBOX for MAILFS_SOAK (a duration such as "1h"; skipped when
// unset, so CI's default run does not take an hour), with a reader listing
// the folder every second and reading what arrives. Every minute it logs the
// heap in use (after a GC), the goroutines and the server's connections;
// at the end none of them may have grown beyond a small margin over the
// first minute's: memory and connections stay flat.
func TestSoakLiveMailbox(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MAILFS_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set MAILFS_SOAK to a duration (e.g. 1h) to run the soak test")
	}
	srv := remotetest.NewIMAP(t, nil)
	mnt := t.TempDir()
	out := filepath.Join(t.TempDir(), "new-mail")
	runMount(t, "mount", "-config", writableConfig(t, srv, newMailLine(out)), mnt)
	inbox := filepath.Join(mnt, "test", "INBOX")

	type sample struct {
		heap       uint64
		goroutines int
		conns      int
	}
	measure := func() sample {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return sample{heap: ms.HeapInuse, goroutines: runtime.NumGoroutine(), conns: srv.Connections()}
	}
	var first *sample
	deliver := time.NewTicker(2 * time.Second)
	defer deliver.Stop()
	read := time.NewTicker(time.Second)
	defer read.Stop()
	report := time.NewTicker(time.Minute)
	defer report.Stop()
	end := time.After(d)
	delivered := 0
	for {
		select {
		case <-deliver.C:
			if _, err := srv.Append("INBOX", testMail(delivered%60, "Soak "+time.Now().Format(time.TimeOnly)), nil, time.Now()); err != nil {
				t.Fatal(err)
			}
			delivered++
		case <-read.C:
			names := dirNames(t, inbox)
			if len(names) > 0 {
				mustRead(t, filepath.Join(inbox, names[len(names)-1]))
			}
		case <-report.C:
			s := measure()
			if first == nil {
				first = &s
			}
			t.Logf("after %d deliveries: heap %.1f MiB, %d goroutines, %d connections", delivered, float64(s.heap)/(1<<20), s.goroutines, s.conns)
		case <-end:
			eventually(t, 5*time.Second, "INBOX lists every message delivered", func() bool {
				return len(dirNames(t, inbox)) == delivered
			})
			s := measure()
			if first == nil {
				t.Logf("ran %v: shorter than a minute, nothing to compare", d)
				return
			}
			// The listing grows by one entry per delivery; allow for it.
			if s.heap > first.heap*2+uint64(delivered)*2048 {
				t.Errorf("heap grew from %d to %d bytes", first.heap, s.heap)
			}
			if s.goroutines > first.goroutines+10 {
				t.Errorf("goroutines grew from %d to %d", first.goroutines, s.goroutines)
			}
			if s.conns > first.conns+1 {
				t.Errorf("server connections grew from %d to %d", first.conns, s.conns)
			}
			t.Logf("end after %d deliveries: heap %.1f MiB (first minute %.1f), %d goroutines (%d), %d connections (%d)",
				delivered, float64(s.heap)/(1<<20), float64(first.heap)/(1<<20), s.goroutines, first.goroutines, s.conns, first.conns)
			return
		}
	}
}
