package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

func TestBodyFetchedOnceAcrossReopen(t *testing.T) {
	e := newEnv(t)
	uid := e.store.add("INBOX", "hello")
	l := e.list("INBOX", 0)
	want := e.store.body("INBOX", uid)
	if got := e.read("INBOX", l.UIDValidity, uid); !bytes.Equal(got, want) {
		t.Fatalf("body: got %q, want %q", got, want)
	}
	e.read("INBOX", l.UIDValidity, uid)
	e.reopen()
	e.store.setDown(true)
	if got := e.read("INBOX", l.UIDValidity, uid); !bytes.Equal(got, want) {
		t.Fatalf("body after reopen: got %q, want %q", got, want)
	}
	wantCalls(t, e.store, "Fetch", 1)

	f, err := e.a.Open(context.Background(), "INBOX", l.UIDValidity, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("the returned file is writable, want read-only")
	}
}

func TestConcurrentOpenFetchesOnce(t *testing.T) {
	e := newEnv(t)
	uid := e.store.add("INBOX", "hello")
	l := e.list("INBOX", 0)
	gate := make(chan struct{})
	e.store.gate = gate
	const n = 10
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			f, err := e.a.Open(context.Background(), "INBOX", l.UIDValidity, uid)
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			bodies[i], errs[i] = io.ReadAll(f)
		})
	}
	waitBodyWaiters(t, e.a, bodyKey{"INBOX", l.UIDValidity, uid}, n)
	close(gate)
	wg.Wait()
	want := e.store.body("INBOX", uid)
	for i := range n {
		if errs[i] != nil || !bytes.Equal(bodies[i], want) {
			t.Errorf("Open %d: got %q, %v; want the body", i, bodies[i], errs[i])
		}
	}
	wantCalls(t, e.store, "Fetch", 1)
}

func TestSizeCorrectedAfterFetch(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "honest")
	uid := e.store.addSized("INBOX", "liar", 7)
	l := e.list("INBOX", 0)
	listed, _ := l.Find(uid)
	body := e.read("INBOX", l.UIDValidity, uid)
	if listed.Size == int64(len(body)) {
		t.Fatalf("test setup: listed size %d equals body size", listed.Size)
	}
	l2 := e.list("INBOX", time.Minute)
	if got, _ := l2.Find(uid); got.Size != int64(len(body)) {
		t.Errorf("size after fetch: got %d, want %d", got.Size, len(body))
	}
	if got, _ := l.Find(uid); got.Size != listed.Size {
		t.Error("a published Listing changed")
	}
	// A later sync does not bring the server's wrong size back.
	e.store.add("INBOX", "new")
	e.store.setFlags("INBOX", uid, `\Seen`)
	if got, _ := e.list("INBOX", 0).Find(uid); got.Size != int64(len(body)) {
		t.Errorf("size after sync: got %d, want %d", got.Size, len(body))
	}
	e.reopen()
	if got, _ := e.list("INBOX", time.Minute).Find(uid); got.Size != int64(len(body)) {
		t.Errorf("size after reopen: got %d, want %d", got.Size, len(body))
	}
}

func TestMessageGoneOnServer(t *testing.T) {
	e := newEnv(t)
	uid := e.store.add("INBOX", "a")
	l := e.list("INBOX", 0)
	e.store.expunge("INBOX", uid)
	_, err := e.a.Open(context.Background(), "INBOX", l.UIDValidity, uid)
	if !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Open of an expunged message: got %v, want ErrNotFound", err)
	}
	// The next List finds out, even though maxAge would allow the snapshot.
	wantUIDs(t, e.list("INBOX", time.Hour))
}

func TestEvictionByMaxSize(t *testing.T) {
	e := newEnv(t)
	var uids []uint32
	for range 4 {
		uids = append(uids, e.store.add("INBOX", "m"))
	}
	size := int64(len(e.store.body("INBOX", 1))) // all bodies have one size
	e.opts.MaxSize = 3 * size
	e.reopen()
	l := e.list("INBOX", 0)
	uv := l.UIDValidity

	for _, uid := range uids[:3] {
		e.read("INBOX", uv, uid)
		e.clock.Advance(time.Second)
	}
	e.read("INBOX", uv, uids[0]) // 1 is now the most recently read
	e.clock.Advance(time.Second)
	e.read("INBOX", uv, uids[3]) // over the limit: 2 goes
	e.clock.Advance(time.Second)
	for uid, want := range map[uint32]bool{1: true, 2: false, 3: true, 4: true} {
		if got := e.bodyExists("INBOX", uv, uid); got != want {
			t.Errorf("body %d cached: got %v, want %v", uid, got, want)
		}
	}

	// The order survives a restart: after 3 (oldest) comes 1.
	e.reopen()
	e.read("INBOX", uv, uids[1])
	for uid, want := range map[uint32]bool{1: true, 2: true, 3: false, 4: true} {
		if got := e.bodyExists("INBOX", uv, uid); got != want {
			t.Errorf("after reopen, body %d cached: got %v, want %v", uid, got, want)
		}
	}
	wantCalls(t, e.store, "Fetch", 5)

	// A smaller limit at start evicts at once.
	e.opts.MaxSize = size
	e.reopen()
	n := 0
	for _, uid := range uids {
		if e.bodyExists("INBOX", uv, uid) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bodies kept with room for one: got %d", n)
	}
}

// waitBodyWaiters waits until n Opens wait for the pending fetch of key.
func waitBodyWaiters(t *testing.T, a *Account, key bodyKey, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.fetchMu.Lock()
		got := 0
		if p := a.pending[key]; p != nil {
			got = p.waiters
		}
		a.fetchMu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters of %v: got %d, want %d", key, got, n)
		}
		runtime.Gosched()
	}
}

// Bodies are not fsynced: one that a crash left short (or empty) has the
// wrong size, and Open fetches it again instead of serving it.
func TestBodyCutShortByCrashIsFetchedAgain(t *testing.T) {
	e := newEnv(t)
	uid := e.store.add("INBOX", "hello")
	l := e.list("INBOX", 0)
	want := e.store.body("INBOX", uid)
	e.read("INBOX", l.UIDValidity, uid)
	for _, size := range []int64{0, int64(len(want)) / 2} {
		e.reopen()
		if err := os.Truncate(e.c.bodyPath("acct", "INBOX", l.UIDValidity, uid), size); err != nil {
			t.Fatal(err)
		}
		e.list("INBOX", time.Hour)
		if got := e.read("INBOX", l.UIDValidity, uid); !bytes.Equal(got, want) {
			t.Fatalf("body cut to %d bytes: got %q, want %q", size, got, want)
		}
	}
	wantCalls(t, e.store, "Fetch", 3)
}
