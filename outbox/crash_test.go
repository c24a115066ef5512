package outbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// The crash test runs this test binary again as a helper process
// (TestCrashHelper with OUTBOX_CRASH_SPOOL set) that commits messages and
// sends them, and SIGKILLs it. The helper's "server" is an append-only log
// file: a line "SENT id" is written when the server accepted a message,
// "COPY id" for a Sent copy.

const crashMessages = 25

var crashID = regexp.MustCompile(`(?m)^X-Crash-Id: (\S+)\r?$`)

// logSender delivers into the log file. In mode "block-before" it hangs
// (before accepting) on the third message, in "block-after" after accepting
// it (the server said 250 but the client never records it).
type logSender struct {
	log   *os.File
	mode  string
	mu    sync.Mutex // guards n
	n     int
	block func() // called instead of returning, in the block modes
}

func (s *logSender) Send(ctx context.Context, env remote.Envelope, msg io.Reader) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	m := crashID.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("message without X-Crash-Id: %w", remote.ErrPermanent)
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if s.mode == "block-before" && n == 3 {
		s.block()
	}
	if s.mode == "random" {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
	if _, err := fmt.Fprintf(s.log, "SENT %s\n", m[1]); err != nil {
		return err
	}
	if s.mode == "block-after" && n == 3 {
		s.block()
	}
	return nil
}

func (s *logSender) Close() error { return nil }

func (s *logSender) copy(ctx context.Context, msg io.Reader, size int64) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	if m := crashID.FindSubmatch(b); m != nil {
		_, err = fmt.Fprintf(s.log, "COPY %s\n", m[1])
	}
	return err
}

func crashOptions(spool string, s *logSender) *Options {
	return &Options{
		Dir:        spool,
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		Accounts: []Account{{Name: "work", Addresses: []string{"me@work.example"}, Default: true,
			Sender: s, SentCopy: s.copy}},
	}
}

func TestCrashHelper(t *testing.T) {
	spool := os.Getenv("OUTBOX_CRASH_SPOOL")
	if spool == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	logf, err := os.OpenFile(os.Getenv("OUTBOX_CRASH_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s := &logSender{log: logf, mode: os.Getenv("OUTBOX_CRASH_MODE"), block: func() {
		fmt.Println("BLOCKED")
		select {}
	}}
	ob, err := Open(crashOptions(spool, s))
	if err != nil {
		t.Fatal(err)
	}
	go ob.Run(context.Background())
	for i := range crashMessages {
		id := fmt.Sprintf("m%02d", i)
		d, err := ob.Create(id + ".eml")
		if err != nil {
			t.Fatal(err)
		}
		msg := "From: me@work.example\r\nTo: a@x.example\r\nBcc: b@x.example\r\nX-Crash-Id: " + id +
			"\r\n\r\n" + strings.Repeat("body line\r\n", rand.IntN(2000))
		if _, err := d.WriteAt([]byte(msg), 0); err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Println("COMMITTED " + id)
	}
	fmt.Println("DONE")
	select {}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	modes := []string{"random", "random", "random", "random", "random", "block-before", "block-after"}
	for i, mode := range modes {
		t.Run(fmt.Sprintf("%d-%s", i, mode), func(t *testing.T) {
			crashOnce(t, mode)
		})
	}
}

func crashOnce(t *testing.T, mode string) {
	dir := t.TempDir()
	spool, logPath := dir+"/spool", dir+"/server.log"
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), "OUTBOX_CRASH_SPOOL="+spool, "OUTBOX_CRASH_LOG="+logPath, "OUTBOX_CRASH_MODE="+mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// Kill after a random number of commits (random), or once the sender
	// hangs and every message is committed (block modes).
	killAfter := 1 + rand.IntN(crashMessages)
	committed := make(map[string]bool)
	blocked, done := false, false
	timeout := time.After(60 * time.Second)
	killed := false
	for !killed {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper exited early: %v", cmd.Wait())
			}
			if id, ok := strings.CutPrefix(l, "COMMITTED "); ok {
				committed[id] = true
			}
			blocked = blocked || l == "BLOCKED"
			done = done || l == "DONE"
			if mode == "random" && len(committed) >= killAfter || mode != "random" && blocked && done {
				if mode == "random" {
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				}
				cmd.Process.Kill()
				killed = true
			}
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("helper did not get there in time (committed %d, blocked %v)", len(committed), blocked)
		}
	}
	for l := range lines { // drain: lines written before the kill
		if id, ok := strings.CutPrefix(l, "COMMITTED "); ok {
			committed[id] = true
		}
	}
	cmd.Wait()

	// Restart: everything committed goes out.
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ob, err := Open(crashOptions(spool, &logSender{log: logf}))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error)
	go func() { runDone <- ob.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ob.mu.Lock()
		n := len(ob.items)
		ob.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still in the spool: %v", n, names(ob.Queued()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-runDone
	if f := ob.Failed(); len(f) != 0 {
		t.Errorf("failed after recovery: %+v", f)
	}

	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	sent, copies := map[string]int{}, map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if id, ok := strings.CutPrefix(l, "SENT "); ok {
			sent[id]++
		} else if id, ok := strings.CutPrefix(l, "COPY "); ok {
			copies[id]++
		}
	}
	dups := 0
	for id, n := range sent {
		dups += n - 1
		if copies[id] == 0 {
			t.Errorf("%s was sent but has no Sent copy", id)
		}
	}
	for id := range committed {
		if sent[id] == 0 {
			t.Errorf("%s was committed but never sent", id)
		}
	}
	// One message at a time is in flight: a crash can resend at most it.
	if dups > 1 {
		t.Errorf("%d duplicate sends, want at most 1: %v", dups, sent)
	}
	if mode == "block-after" && dups != 1 {
		t.Errorf("block-after: %d duplicates, want the one accepted but never recorded", dups)
	}
	t.Logf("mode %s: %d committed before the kill, %d sent, %d duplicates", mode, len(committed), len(sent), dups)
}
