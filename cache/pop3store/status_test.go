package pop3store

import (
	"testing"
	"time"
)

// Status says how the POP3 server has been answering: online with the
// last successful poll, then offline since the first failed poll, with its
// error, then online again.
func TestStatus(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	if st := e.s.Status(); st.Offline || !st.LastContact.IsZero() {
		t.Errorf("before any poll: got %+v, want online and no contact", st)
	}
	e.mustPoll()
	ok := e.clock.Now()
	if st := e.s.Status(); st.Offline || !st.LastContact.Equal(ok) || !st.LastSync.Equal(ok) {
		t.Errorf("after a poll: got %+v, want online, last contact and sync %v", st, ok)
	}

	e.clock.Add(time.Minute)
	e.drop.mu.Lock()
	e.drop.down = true
	e.drop.mu.Unlock()
	if err := e.poll(); err == nil {
		t.Fatal("poll of a server that is down succeeded")
	}
	down := e.clock.Now()
	e.clock.Add(time.Minute)
	e.poll()
	st := e.s.Status()
	if !st.Offline || !st.OfflineSince.Equal(down) || st.LastError == "" || !st.LastContact.Equal(ok) {
		t.Errorf("server down: got %+v, want offline since %v with an error, last contact %v", st, down, ok)
	}

	e.drop.mu.Lock()
	e.drop.down = false
	e.drop.mu.Unlock()
	e.mustPoll()
	if st := e.s.Status(); st.Offline || st.LastError != "" || !st.OfflineSince.IsZero() {
		t.Errorf("server back: got %+v, want online", st)
	}
}
