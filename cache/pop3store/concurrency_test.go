package pop3store

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentUse runs polls, listings, reads, moves and flag changes at
// once (for the race detector) and checks nothing is lost or duplicated.
func TestConcurrentUse(t *testing.T) {
	var msgs []*fakeMsg
	want := map[string]string{}
	for i := range 30 {
		uid := fmt.Sprintf("m%02d", i)
		msgs = append(msgs, msg(uid, sample(uid)))
		want[uid] = sample(uid)
	}
	e := newEnv(t, false, msgs...)
	var changes atomic.Int32
	e.s.opts.OnChange = func(string) { changes.Add(1) }
	ctx := t.Context()
	if err := e.s.CreateMailbox(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.poll() })
	for w := range 4 {
		wg.Go(func() {
			for range 50 {
				l, err := e.s.List(ctx, Inbox, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range l.Messages {
					switch w {
					case 0:
						e.s.SetFlags(ctx, Inbox, m.UID, []string{`\Seen`})
					case 1:
						if uid, err := e.s.Move(ctx, Inbox, m.UID, "Box"); err == nil {
							e.s.Move(ctx, "Box", uid, Inbox)
						}
					default:
						if f, err := e.s.Open(ctx, Inbox, l.UIDValidity, m.UID); err == nil {
							io.Copy(io.Discard, f)
							f.Close()
						}
					}
				}
				e.s.Mailboxes(ctx, 0)
			}
		})
	}
	wg.Wait()
	e.mustPoll()
	e.checkInbox(want)
	if changes.Load() == 0 {
		t.Error("OnChange never called")
	}
	if got := e.drop.totalRetr(); got != 30 {
		t.Errorf("RETR count: got %d, want 30", got)
	}
}
