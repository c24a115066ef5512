package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of newMailRunner (newmail.go) with real `sh -c` commands that
// write what they were given to files beside the test's mount point (a
// temporary directory: nothing is mounted).

// newMailEnv is a runner of command for account "acct" whose log the test
// reads, with a short debounce.
type newMailEnv struct {
	t   *testing.T
	r   *newMailRunner
	mnt string // the mount point
	out string // a directory for the command's files
	log *syncBuffer
}

func newNewMailEnv(t *testing.T, command string) *newMailEnv {
	t.Helper()
	e := &newMailEnv{t: t, mnt: t.TempDir(), out: t.TempDir(), log: &syncBuffer{}}
	command = strings.ReplaceAll(command, "OUT/", shellQuote(e.out)+"/")
	e.r = newNewMailRunner("acct", command, e.mnt, slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	e.r.debounce = 100 * time.Millisecond
	e.r.timeout = 10 * time.Second
	return e
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// start runs the runner until the test ends (or stop) and returns stop,
// which cancels it and fails unless run returns within a second.
func (e *newMailEnv) start() (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.r.run(ctx)
	}()
	stopped := false
	stop = func() {
		e.t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(time.Second):
			e.t.Fatalf("run: still running a second after its ctx was cancelled, want it returned")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// logLine is one JSON log record.
type logLine map[string]any

// lines returns the log records with message prefix msg.
func (e *newMailEnv) lines(msg string) []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(e.log.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			e.t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m, _ := l["msg"].(string); strings.HasPrefix(m, msg) {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until the log has n records with message prefix msg.
func (e *newMailEnv) waitLines(msg string, n int, within time.Duration) []logLine {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := e.lines(msg)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("log: got %d lines %q within %v, want %d; log:\n%s", len(got), msg, within, n, e.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// file returns the lines of the command's file name (nil when absent).
func (e *newMailEnv) file(name string) []string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.out, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// waitFile waits until the command's file name exists and has a line.
func (e *newMailEnv) waitFile(name string, within time.Duration) []string {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := e.file(name); len(got) > 0 && got[0] != "" {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("file %s: got nothing within %v, want it written; log:\n%s", name, within, e.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Paths added in two calls within the debounce make one run, which gets them absolute
// (under the mount point), as "$@" and one a line on stdin, with / as
// working directory (never the mount: see runOnce).
func TestNewMailOneRunForABurst(t *testing.T) {
	e := newNewMailEnv(t, `echo run >> OUT/runs; printf '%s\n' "$@" > OUT/args; cat > OUT/stdin; pwd > OUT/pwd`)
	e.r.debounce = 300 * time.Millisecond
	e.start()
	e.r.add([]string{"acct/INBOX/1 first.eml", "acct/INBOX/2.eml"})
	time.Sleep(30 * time.Millisecond) // well within the debounce
	e.r.add([]string{"acct/Lists/go/3.eml"})
	ran := e.waitLines("new_mail_command ran", 1, 5*time.Second)

	want := []string{
		filepath.Join(e.mnt, "acct/INBOX/1 first.eml"),
		filepath.Join(e.mnt, "acct/INBOX/2.eml"),
		filepath.Join(e.mnt, "acct/Lists/go/3.eml"),
	}
	if got := e.file("runs"); len(got) != 1 {
		t.Errorf("runs: got %d, want 1", len(got))
	}
	if got := e.file("args"); !slices.Equal(got, want) {
		t.Errorf(`"$@": got %q, want %q`, got, want)
	}
	if got := e.file("stdin"); !slices.Equal(got, want) {
		t.Errorf("stdin: got %q, want %q", got, want)
	}
	if got := e.file("pwd"); !slices.Equal(got, []string{"/"}) {
		t.Errorf("working directory: got %q, want /", got)
	}
	if got := ran[0]["messages"]; got != float64(3) {
		t.Errorf("log messages: got %v, want 3", got)
	}
	if got := ran[0]["account"]; got != "acct" {
		t.Errorf("log account: got %v, want acct", got)
	}
	if ran[0]["level"] != "INFO" {
		t.Errorf("log level: got %v, want INFO", ran[0]["level"])
	}
}

// More than newMailBatch paths make several runs of at most newMailBatch
// each, in order.
func TestNewMailBatches(t *testing.T) {
	e := newNewMailEnv(t, `echo $# >> OUT/counts; printf '%s\n' "$@" >> OUT/args`)
	e.start()
	var paths, want []string
	for i := range 2*newMailBatch + 3 {
		p := fmt.Sprintf("acct/INBOX/%d.eml", i)
		paths = append(paths, p)
		want = append(want, filepath.Join(e.mnt, p))
	}
	e.r.add(paths)
	e.waitLines("new_mail_command ran", 3, 10*time.Second)
	if got, want := e.file("counts"), []string{strconv.Itoa(newMailBatch), strconv.Itoa(newMailBatch), "3"}; !slices.Equal(got, want) {
		t.Errorf("paths per run: got %q, want %q", got, want)
	}
	if got := e.file("args"); !slices.Equal(got, want) {
		t.Errorf("paths of all runs: got %d (%q…), want the %d added, in order", len(got), got[:min(len(got), 3)], len(want))
	}
}

// Runs never overlap: what arrives during a run waits for the next.
func TestNewMailRunsDoNotOverlap(t *testing.T) {
	e := newNewMailEnv(t, `echo "start $*" >> OUT/events; echo x > OUT/started; sleep 0.3; echo "end $*" >> OUT/events`)
	e.start()
	e.r.add([]string{"a"})
	e.waitFile("started", 5*time.Second)
	e.r.add([]string{"b"})
	e.r.add([]string{"c"})
	e.waitLines("new_mail_command ran", 2, 5*time.Second)
	a, bc := filepath.Join(e.mnt, "a"), filepath.Join(e.mnt, "b")+" "+filepath.Join(e.mnt, "c")
	want := []string{"start " + a, "end " + a, "start " + bc, "end " + bc}
	if got := e.file("events"); !slices.Equal(got, want) {
		t.Errorf("runs: got %q, want %q", got, want)
	}
}

// gone reports whether process pid has ended (a zombie waiting for its
// reaper counts as ended).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// A command that runs longer than the timeout is killed, with the
// children it started, and a warning says so.
func TestNewMailKilledAtTimeout(t *testing.T) {
	tests := []struct {
		name, command string
		child         bool
	}{
		{"hangs", `echo $$ > OUT/pid; sleep 60`, false},
		{"child", `echo $$ > OUT/pid; sleep 60 & echo $! > OUT/child; wait`, true},
		{"grandchild", `echo $$ > OUT/pid; (sleep 60 & echo $! > OUT/child; wait) & wait`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newNewMailEnv(t, tt.command)
			e.r.timeout = 200 * time.Millisecond
			start := time.Now()
			ran := make(chan struct{})
			go func() {
				defer close(ran)
				e.r.runOnce(t.Context(), []string{"/mnt/acct/INBOX/1.eml"})
			}()
			select {
			case <-ran:
			case <-time.After(3 * time.Second):
				t.Fatalf("run: still running after 3s, want it killed at the timeout (%v)", e.r.timeout)
			}
			took := time.Since(start)
			if took < e.r.timeout || took > time.Second {
				t.Errorf("run took %v, want the timeout (%v), well under a second", took, e.r.timeout)
			}
			var pids []string
			pids = append(pids, e.waitFile("pid", time.Second)...)
			if tt.child {
				pids = append(pids, e.waitFile("child", time.Second)...)
			}
			for _, s := range pids {
				pid, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("pid %q: %v", s, err)
				}
				deadline := time.Now().Add(time.Second)
				for !gone(pid) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if !gone(pid) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("process %d: got it running after the kill, want it gone", pid)
				}
			}
			warns := e.lines("new_mail_command killed")
			if len(warns) != 1 || warns[0]["level"] != "WARN" {
				t.Fatalf(`log: got %d lines "new_mail_command killed…" (%v), want 1 at WARN; log:\n%s`, len(warns), warns, e.log)
			}
			if msg := warns[0]["msg"].(string); !strings.Contains(msg, "200ms") {
				t.Errorf("warning: got %q, want it to name the timeout 200ms", msg)
			}
		})
	}
}

// A failing command logs a warning with its output and exit status; a
// long output is cut at newMailOutput.
func TestNewMailFailingCommand(t *testing.T) {
	e := newNewMailEnv(t, `echo "no such folder: $1"; echo oops >&2; exit 3`)
	e.r.runOnce(t.Context(), []string{"/mnt/acct/INBOX/1.eml"}) // run gives it absolute paths
	warns := e.lines("new_mail_command failed")
	if len(warns) != 1 || warns[0]["level"] != "WARN" {
		t.Fatalf(`log: got %d lines "new_mail_command failed" (%v), want 1 at WARN; log:\n%s`, len(warns), warns, e.log)
	}
	wantOut := "no such folder: /mnt/acct/INBOX/1.eml\noops"
	if got := warns[0]["output"]; got != wantOut {
		t.Errorf("output: got %q, want %q", got, wantOut)
	}
	if got, _ := warns[0]["err"].(string); !strings.Contains(got, "exit status 3") {
		t.Errorf("err: got %q, want it to say exit status 3", got)
	}

	e = newNewMailEnv(t, `head -c 100000 /dev/zero | tr '\0' x; exit 1`)
	e.r.runOnce(t.Context(), []string{"x"})
	warns = e.lines("new_mail_command failed")
	if len(warns) != 1 {
		t.Fatalf(`log: got %d lines "new_mail_command failed", want 1; log:\n%s`, len(warns), e.log)
	}
	want := strings.Repeat("x", newMailOutput) + "…"
	if got, _ := warns[0]["output"].(string); got != want {
		t.Errorf("long output: got %d bytes (%.20q…), want the first %d and …", len(got), got, newMailOutput)
	}
}

// A command that succeeds silently logs one info line without output.
func TestNewMailQuietCommand(t *testing.T) {
	e := newNewMailEnv(t, `:`)
	e.r.runOnce(t.Context(), []string{"x"})
	ran := e.lines("new_mail_command ran")
	if len(ran) != 1 {
		t.Fatalf(`log: got %d lines "new_mail_command ran", want 1; log:\n%s`, len(ran), e.log)
	}
	if _, ok := ran[0]["output"]; ok {
		t.Errorf("log: got output %q, want none", ran[0]["output"])
	}
}

// Cancelling ctx stops run promptly: during a run (the command is killed,
// with an info line, not a warning) and while it waits for more mail.
func TestNewMailStopsOnCancel(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		e := newNewMailEnv(t, `echo $$ > OUT/pid; sleep 60`)
		e.r.timeout = time.Minute
		stop := e.start()
		e.r.add([]string{"a"})
		pid, err := strconv.Atoi(e.waitFile("pid", 5*time.Second)[0])
		if err != nil {
			t.Fatal(err)
		}
		stop()
		if !gone(pid) {
			t.Errorf("command: got it running after run returned, want it killed")
		}
		if got := e.lines("new_mail_command stopped"); len(got) != 1 || got[0]["level"] != "INFO" {
			t.Errorf(`log: got %v "new_mail_command stopped", want 1 at INFO; log:\n%s`, got, e.log)
		}
		if got := e.lines("new_mail_command killed"); len(got) != 0 {
			t.Errorf("log: got %v, want no warning", got)
		}
	})
	t.Run("debouncing", func(t *testing.T) {
		e := newNewMailEnv(t, `echo x > OUT/ran`)
		e.r.debounce = time.Hour
		stop := e.start()
		e.r.add([]string{"a"})
		eventually(t, time.Second, "run takes the word of new mail", func() bool { return len(e.r.kick) == 0 })
		stop()
		if got := e.file("ran"); got != nil {
			t.Errorf("command: got a run, want none")
		}
	})
	t.Run("idle", func(t *testing.T) {
		e := newNewMailEnv(t, `echo x > OUT/ran`)
		stop := e.start()
		stop()
	})
}
