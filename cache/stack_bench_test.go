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
	return stackEnvRTT(b, n, 0)
}

// stackEnvRTT is stackEnv with the store reaching the server through a
// proxy that adds rtt to every round trip (none when 0).
func stackEnvRTT(b *testing.B, n int, rtt time.Duration) (*remotetest.IMAP, *imap.Store) {
	b.Helper()
	srv := remotetest.NewIMAP(b, nil)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := srv.Append("INBOX", remotetest.SampleMessage(i), nil, base.Add(time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	host, port := srv.Host(), srv.Port()
	if rtt > 0 {
		p := remotetest.NewProxy(b, srv.Addr, &remotetest.ProxyOptions{Latency: rtt})
		host, port = p.Host(), p.Port()
	}
	store := imap.New(&imap.Options{Server: remote.Server{
		Host: host, Port: port, TLS: remote.TLSNone, Username: srv.Username,
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
		l, err := c.Account("bench", store, nil).List(ctx, "INBOX", 0)
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
// once, in listing order, through the cache (each a cold read that fetches
// from the server and writes the cache file), as a first `grep -r` does:
// straight to the server and through a proxy adding 50 ms per round trip.
// It reports messages and bytes per second and the FETCH commands per
// message read.
func BenchmarkStackReadBodiesOnce(b *testing.B) {
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run("rtt="+rtt.String(), func(b *testing.B) {
			const n = 1_000
			srv, store := stackEnvRTT(b, n, rtt)
			ctx := context.Background()
			var bytes, fetches int64
			for b.Loop() {
				b.StopTimer()
				c, err := cache.Open(b.TempDir(), nil)
				if err != nil {
					b.Fatal(err)
				}
				a := c.Account("bench", store, nil)
				l, err := a.List(ctx, "INBOX", 0)
				if err != nil {
					b.Fatal(err)
				}
				before := srv.Fetches()
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
				fetches += srv.Fetches() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(bytes*int64(b.N))/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(fetches)/float64(n*b.N), "FETCHes/msg")
		})
	}
}
