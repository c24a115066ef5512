package imap

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// seedBench fills INBOX with n small messages.
func seedBench(b *testing.B, n int) *remotetest.IMAP {
	b.Helper()
	srv := remotetest.NewIMAP(b, nil)
	date := time.Date(2026, 11, 20, 9, 15, 0, 0, time.FixedZone("", 3600))
	for i := range n {
		msg := testMessage(i%100, fmt.Sprintf("=?UTF-8?Q?Bericht_=C3=BCber_Nummer_%d?=", i))
		if _, err := srv.Append("INBOX", msg, []string{`\Seen`}, date); err != nil {
			b.Fatal(err)
		}
	}
	return srv
}

// BenchmarkMessages10k measures the first listing of a 10,000-message
// folder: a new Store (dial, login, EXAMINE) and one UID FETCH 1:*. The
// in-process server's own work and allocations are included in the figures.
func BenchmarkMessages10k(b *testing.B) {
	const n = 10000
	srv := seedBench(b, n)
	uv := uidValidity(b, testStore(b, srv, nil), "INBOX")
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		s := New(&Options{Server: remote.Server{
			Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSNone, Username: srv.Username,
			Password: func(context.Context) (string, error) { return srv.Password, nil },
		}})
		count := 0
		err := s.Messages(context.Background(), "INBOX", uv, 1, func(remote.MessageInfo) error {
			count++
			return nil
		})
		s.Close()
		if err != nil || count != n {
			b.Fatalf("got %d messages, err %v; want %d", count, err, n)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	msgs := float64(n) * float64(b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/msgs, "B/msg")
}

// BenchmarkListingItems compares the two ways to get a listing:
// BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)] (what Messages uses) and
// ENVELOPE. It chose the former.
func BenchmarkListingItems(b *testing.B) {
	const n = 10000
	srv := seedBench(b, n)
	s := testStore(b, srv, nil)
	uv := uidValidity(b, s, "INBOX")
	b.Run("header-fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := len(listAll(b, s, "INBOX", uv, 1)); got != n {
				b.Fatalf("got %d, want %d", got, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("envelope", func(b *testing.B) {
		b.ReportAllocs()
		opts := &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true, Flags: true, Envelope: true}
		for b.Loop() {
			got := 0
			err := s.do(context.Background(), "bench", "INBOX", func(cn *conn, _ *bool) error {
				ex, st := cn.examineAndFetch("INBOX", false, imap.UIDSet{imap.UIDRange{Start: 1}}, opts)
				if err := s.examined(cn, ex, "INBOX", uv); err != nil {
					st.close()
					return err
				}
				for msg := st.next(); msg != nil; msg = st.next() {
					var mi remote.MessageInfo
					for item := msg.Next(); item != nil; item = msg.Next() {
						switch it := item.(type) {
						case imapclient.FetchItemDataUID:
							mi.UID = uint32(it.UID)
						case imapclient.FetchItemDataRFC822Size:
							mi.Size = it.Size
						case imapclient.FetchItemDataInternalDate:
							mi.InternalDate = it.Time
						case imapclient.FetchItemDataFlags:
							mi.Flags = flagStrings(it.Flags)
						case imapclient.FetchItemDataEnvelope:
							mi.Subject, mi.MessageID = it.Envelope.Subject, it.Envelope.MessageID
						}
					}
					if mi.UID != 0 {
						got++
					}
				}
				return st.close()
			})
			if err != nil || got != n {
				b.Fatalf("got %d, err %v; want %d", got, err, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
