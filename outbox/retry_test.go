package outbox

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestRetryNow sends a message waiting for its backoff at once, keeps its
// attempt count, and leaves failed messages alone.
func TestRetryNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{errTemp, errPerm}
		e.start()
		e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		e.mustCommit("b.eml", "To: b@x.example\n\nhi\n")
		synctest.Wait()
		if q, f := e.ob.Queued(), e.ob.Failed(); len(q) != 1 || len(f) != 1 {
			t.Fatalf("queued %v, failed %v: want a.eml waiting and b.eml failed", names(q), names(f))
		}
		time.Sleep(5 * time.Second) // well within the 30s backoff
		if n := e.ob.RetryNow(); n != 1 {
			t.Errorf("RetryNow() = %d, want 1", n)
		}
		synctest.Wait()
		if got := e.work.got(); len(got) != 1 || got[0].env.To[0] != "a@x.example" {
			t.Fatalf("sent %+v, want a.eml at once", got)
		}
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() = %v, want empty", names(q))
		}
		if f := e.ob.Failed(); len(f) != 1 || f[0].Name != "b.eml" {
			t.Errorf("Failed() = %v, want b.eml kept", names(f))
		}
		if n := e.ob.RetryNow(); n != 0 {
			t.Errorf("RetryNow() with nothing waiting = %d, want 0", n)
		}
		e.stop()
	})
}

// TestRetryNowKeepsAttempts checks that a message that fails again after
// RetryNow continues its backoff schedule.
func TestRetryNowKeepsAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{errTemp, errTemp}
		e.start()
		e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		start := time.Now()
		e.ob.RetryNow()
		synctest.Wait()
		q := e.ob.Queued()
		if len(q) != 1 || q[0].Attempts != 2 {
			t.Fatalf("Queued() = %+v, want a.eml with 2 attempts", q)
		}
		if d := q[0].NextAttempt.Sub(start); d < 60*time.Second || d > 66*time.Second {
			t.Errorf("next attempt after %v, want 60s..66s (the second backoff)", d)
		}
		e.stop()
	})
}
