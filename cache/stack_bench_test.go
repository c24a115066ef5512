package cache_test

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"mailfs/cache"
	"mailfs/remote"
	"mailfs/remote/imap"
	"mailfs/remote/remotetest"
)

// stackEnv is an in-process IMAP server holding n generated messages in
// INBOX and an IMAP store for it.
func stackEnv(b *testing.B, n int) (*remotetest.IMAP, *imap.Store) {
	b.Helper()
	srv := remotetest.NewIMAP(b, nil)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := srv.Append("INBOX", remotetest.SampleMessage(i), nil, base.Add(time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	store := imap.New(&imap.Options{Server: remote.Server{
		Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSNone, Username: srv.Username,
		Password: func(context.Context) (string, error) { return srv.Password, nil },
	}})
	b.Cleanup(func() { store.Close() })
	return srv, store
}

// BenchmarkStackFirstListing10k lists a 10,000-message folder through the
// cache from the in-process IMAP server with an empty cache, as the first
// `ls` after mounting does. It reports messages per second, the FETCH
// commands one listing takes, and the heap the cache keeps per message.
func BenchmarkStackFirstListing10k(b *testing.B) {
	const n = 10_000
	srv, store := stackEnv(b, n)
	ctx := context.Background()
	var heapPerMsg float64
	fetches := srv.Fetches()
	for b.Loop() {
		b.StopTimer()
		c, err := cache.Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		l, err := c.Account("bench", store).List(ctx, "INBOX", 0)
		b.StopTimer()
		if err != nil || len(l.Messages) != n {
			b.Fatalf("List: %v", err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heapPerMsg = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		runtime.KeepAlive(l)
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(srv.Fetches()-fetches)/float64(b.N), "FETCHes/listing")
	b.ReportMetric(heapPerMsg, "heapB/msg")
}

// BenchmarkStackReadBodiesOnce reads every body of a 1,000-message folder
// once through the cache (each a cold read that fetches from the server and
// writes the cache file), as a first `grep -r` does.
func BenchmarkStackReadBodiesOnce(b *testing.B) {
	const n = 1_000
	_, store := stackEnv(b, n)
	ctx := context.Background()
	var bytes int64
	for b.Loop() {
		b.StopTimer()
		c, err := cache.Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		a := c.Account("bench", store)
		l, err := a.List(ctx, "INBOX", 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		bytes = 0
		for _, m := range l.Messages {
			f, err := a.Open(ctx, "INBOX", l.UIDValidity, m.UID)
			if err != nil {
				b.Fatal(err)
			}
			k, err := io.Copy(io.Discard, f)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			bytes += k
		}
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(bytes*int64(b.N))/b.Elapsed().Seconds()/1e6, "MB/s")
}
