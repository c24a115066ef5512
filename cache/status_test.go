package cache

import (
	"testing"
	"time"
)

func TestAccountStatus(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	if st := e.a.Status(); st.Offline || !st.LastContact.IsZero() || !st.LastSync.IsZero() {
		t.Errorf("got %+v before any contact, want online with no contact", st)
	}
	synced := e.clock.Now()
	e.list("INBOX", 0)
	st := e.a.Status()
	if st.Offline || !st.LastContact.Equal(synced) || !st.LastSync.Equal(synced) || st.LastError != "" {
		t.Errorf("got %+v, want online, contact and sync at %v", st, synced)
	}

	e.clock.Advance(time.Minute)
	down := e.clock.Now()
	e.store.setDown(true)
	e.list("INBOX", 0)
	e.clock.Advance(time.Minute)
	st = e.a.Status()
	if !st.Offline || !st.OfflineSince.Equal(down) || st.LastError == "" || !st.LastContact.Equal(synced) {
		t.Errorf("got %+v, want offline since %v with an error, last contact %v", st, down, synced)
	}

	e.clock.Advance(DefaultRetryAfter)
	e.store.setDown(false)
	back := e.clock.Now()
	e.list("INBOX", 0)
	st = e.a.Status()
	if st.Offline || !st.OfflineSince.IsZero() || st.LastError != "" || !st.LastContact.Equal(back) {
		t.Errorf("got %+v, want online again, last contact %v", st, back)
	}
}

func TestCacheSize(t *testing.T) {
	for _, max := range []int64{0, 1 << 20} {
		e := newEnv(t)
		e.opts.MaxSize = max
		e.reopen()
		e.store.add("INBOX", "a")
		l := e.list("INBOX", 0)
		body := e.read("INBOX", l.UIDValidity, l.Messages[0].UID)
		used, gotMax := e.c.Size()
		if used != int64(len(body)) || gotMax != max {
			t.Errorf("MaxSize %d: got Size() = %d, %d, want %d, %d", max, used, gotMax, len(body), max)
		}
	}
}
