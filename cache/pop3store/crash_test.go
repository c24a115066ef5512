package pop3store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	crashEnv   = "MAILFS_POP3STORE_CRASH_DIR"
	crashCount = 20
)

// crashBody is message i of the crash test's maildrop.
func crashBody(i int) string {
	return sample(fmt.Sprintf("crash%02d", i)) + strings.Repeat(fmt.Sprintf("line %d of a message that takes a while\r\n", i), 1000+100*i)
}

func crashDrop() *fakeDrop {
	d := newFakeDrop()
	for i := range crashCount {
		d.add(msg(fmt.Sprintf("uidl-%02d", i), crashBody(i)))
	}
	return d
}

// TestCrashChild is the process the crash test kills: it polls a slow
// maildrop into the store named by the environment.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestSIGKILLMidDownload")
	}
	d := crashDrop()
	d.chunkDelay = time.Millisecond
	s, err := Open(&Options{Dir: dir, Account: "crash", Downloader: d})
	if err != nil {
		t.Fatal(err)
	}
	s.Poll(context.Background())
	s.Close()
	// Reaching here means the kill came late; the parent copes.
}

// TestSIGKILLMidDownload kills a polling process at random points and
// checks, after each, that reopening the store finds every message stored
// at most once and none half-written; a final poll stores each exactly
// once without downloading again what the killed processes stored.
func TestSIGKILLMidDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := filepath.Join(t.TempDir(), "store")
	want := map[string]string{}
	for i := range crashCount {
		want[fmt.Sprintf("uidl-%02d", i)] = crashBody(i)
	}
	check := func(round int) int {
		t.Helper()
		e := &env{t: t, dir: dir, drop: newFakeDrop(), clock: newClock(), leave: false}
		e.reopen()
		defer func() { e.s.Close(); e.s = nil }()
		names := e.files() // fails on temporary files
		stored := map[string]string{}
		for _, m := range e.list(Inbox).Messages {
			r := e.s.folders[Inbox].msgs[m.UID]
			stored[r.UIDL] = want[r.UIDL]
		}
		if len(names) != len(stored) {
			t.Errorf("round %d: %d files for %d records", round, len(names), len(stored))
		}
		e.checkInbox(stored) // byte-exact, each UIDL once
		return len(stored)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	before := 0
	for round := 0; round < 4; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it download a little, then kill it mid-flight.
		time.Sleep(time.Duration(100+rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		n := check(round)
		t.Logf("round %d: %d messages stored after SIGKILL", round, n)
		if n < before {
			t.Fatalf("round %d: %d messages stored, fewer than %d before", round, n, before)
		}
		before = n
	}

	e := &env{t: t, dir: dir, drop: crashDrop(), clock: newClock(), leave: false}
	e.reopen()
	e.mustPoll()
	e.checkInbox(want)
	if got := e.drop.totalRetr(); got != crashCount-before {
		t.Errorf("RETR after the crashes: got %d, want %d (only what was not stored)", got, crashCount-before)
	}
	if got := e.drop.uids(); len(got) != 0 {
		t.Errorf("server still has %d messages", len(got))
	}
}
