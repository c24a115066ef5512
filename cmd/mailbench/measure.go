package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// timed is one timed command and the number of lines it printed (files
// found by grep -l, entries listed by ls -l).
type timed struct {
	d     time.Duration
	count int
}

// procCPU returns the CPU time (user and system) process pid has used so
// far, from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis are fixed: utime and stime are the 12th and
	// 13th of them, in clock ticks (100 a second on Linux).
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0, fmt.Errorf("read CPU time of process %d: short /proc/%d/stat", pid, pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// command runs name with args, killed when ctx ends (or when mailbench
// dies), and returns its standard output and how long it took. okCodes
// are exit statuses that are not failures besides 0.
func command(ctx context.Context, okCodes []int, name string, args ...string) ([]byte, time.Duration, error) {
	out, d, _, err := commandCPU(ctx, okCodes, name, args...)
	return out, d, err
}

// commandCPU is command that also returns the CPU time (user and system)
// the command used.
func commandCPU(ctx context.Context, okCodes []int, name string, args ...string) ([]byte, time.Duration, time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		for _, c := range okCodes {
			if ee.ExitCode() == c {
				err = nil
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, elapsed, 0, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), ctx.Err())
		}
		return nil, elapsed, 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, clip(stderr.String(), 2000))
	}
	return stdout.Bytes(), elapsed, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// grepCount times `grep -rl Word dir` and counts the files it names. Exit
// status 1 (nothing found) is an answer; 2 (an error reading a file, EIO
// from the mount) is a failure.
func grepCount(ctx context.Context, dir string) (timed, error) {
	out, d, err := command(ctx, []int{1}, "grep", "-rl", Word, dir)
	if err != nil {
		return timed{}, err
	}
	return timed{d: d, count: countLines(out)}, nil
}

// searchCount makes the search folder for Word in the account at acct
// (mkdir .search/WORD), times `ls -l` of it (the server searches every
// folder), counts the messages it lists and removes it again (rmdir), so
// that the next run searches afresh.
func searchCount(ctx context.Context, acct string) (timed, error) {
	dir := filepath.Join(acct, ".search", Word)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return timed{}, fmt.Errorf("make the search folder: %w", err)
	}
	t, err := lsCount(ctx, dir)
	if rerr := os.Remove(dir); rerr != nil && err == nil {
		err = fmt.Errorf("remove the search folder: %w", rerr)
	}
	return t, err
}

// lsCount times `ls -l dir` and counts the entries it lists (the "total"
// line left out).
func lsCount(ctx context.Context, dir string) (timed, error) {
	out, d, err := command(ctx, nil, "ls", "-l", dir)
	if err != nil {
		return timed{}, err
	}
	n := countLines(out)
	if bytes.HasPrefix(out, []byte("total ")) {
		n--
	}
	return timed{d: d, count: n}, nil
}

func countLines(b []byte) int {
	return bytes.Count(b, []byte("\n"))
}

// mbsyncResult is an mbsync pull.
type mbsyncResult struct {
	d   time.Duration
	cpu time.Duration // CPU time mbsync used
}

// runMbsync pulls user's account from the IMAP server at host:port into
// the empty Maildir at maildir with mbsync, as a user of mbsync would set
// it up (every folder, folders created on the near side, pull only), and
// times it. Its config goes into work.
func runMbsync(ctx context.Context, work, maildir, host string, port int, user, password string) (mbsyncResult, error) {
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		return mbsyncResult{}, fmt.Errorf("create Maildir: %w", err)
	}
	cfg := filepath.Join(work, "mbsyncrc")
	if err := os.WriteFile(cfg, []byte(mbsyncConfig(maildir, host, port, user, password)), 0o600); err != nil {
		return mbsyncResult{}, fmt.Errorf("write mbsync config: %w", err)
	}
	_, d, cpu, err := commandCPU(ctx, nil, "mbsync", "-c", cfg, "-q", "-a")
	if err != nil {
		return mbsyncResult{}, fmt.Errorf("mbsync pull (config %s): %w", cfg, err)
	}
	return mbsyncResult{d: d, cpu: cpu}, nil
}

// mbsyncConfig renders an mbsyncrc (isync 1.4 syntax) for a plain-text
// loopback server.
func mbsyncConfig(maildir, host string, port int, user, password string) string {
	return fmt.Sprintf(`# Written by mailbench.
IMAPAccount bench
Host %s
Port %d
User %s
Pass %s
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns *
Create Near
Sync Pull
SyncState *
`, host, port, user, password, maildir, maildir)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
