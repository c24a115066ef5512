package cache

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

const benchMessages = 10_000

// benchEnv is a cache directory holding a listed 10,000-message INBOX.
func benchEnv(b *testing.B) (dir string, store *fakeStore) {
	b.Helper()
	store = newFakeStore()
	for i := range benchMessages {
		flags := []string{`\Seen`}
		if i%7 == 0 {
			flags = append(flags, `\Flagged`)
		}
		store.add("INBOX", fmt.Sprintf("Re: quarterly report for the northern region, part %d", i), flags...)
	}
	dir = b.TempDir()
	c, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Account("acct", store, nil).List(context.Background(), "INBOX", 0); err != nil {
		b.Fatal(err)
	}
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, store
}

// BenchmarkListFromCache measures relisting a 10,000-message folder that is
// already cached: "fresh" serves the in-memory snapshot, "unchanged" asks
// the server's counters first (a STATUS that says nothing changed).
func BenchmarkListFromCache(b *testing.B) {
	dir, store := benchEnv(b)
	c, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	a := c.Account("acct", store, nil)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		maxAge time.Duration
	}{{"fresh", time.Hour}, {"unchanged", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				l, err := a.List(ctx, "INBOX", bc.maxAge)
				if err != nil || len(l.Messages) != benchMessages {
					b.Fatalf("List: %d messages, %v", len(l.Messages), err)
				}
			}
			b.ReportMetric(float64(benchMessages*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkLoadListing measures loading a 10,000-message listing from the
// database after a restart, and the heap it keeps per message.
func BenchmarkLoadListing(b *testing.B) {
	dir, store := benchEnv(b)
	// Warm up once: the first load in a process frees one-time garbage
	// that would skew the heap measured.
	if c, err := Open(dir, nil); err == nil {
		c.Account("acct", store, nil).List(context.Background(), "INBOX", time.Hour)
		c.Close()
	}
	var heapPerMsg float64
	for b.Loop() {
		b.StopTimer()
		c, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		l, err := c.Account("acct", store, nil).List(context.Background(), "INBOX", time.Hour)
		b.StopTimer()
		if err != nil || len(l.Messages) != benchMessages {
			b.Fatalf("List: %v", err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heapPerMsg = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / benchMessages
		runtime.KeepAlive(l)
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(heapPerMsg, "heapB/msg")
	b.ReportMetric(float64(benchMessages*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
