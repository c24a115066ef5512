package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits of a new_mail_command.
const (
	// newMailDebounce is how long the runner waits after new mail for
	// more, so that a burst of deliveries makes one run.
	newMailDebounce = time.Second
	// newMailTimeout is how long one run may take; then its process group
	// is killed.
	newMailTimeout = time.Minute
	// newMailBatch is the most paths one run is given.
	newMailBatch = 500
	// newMailOutput is how much of a run's output reaches the log.
	newMailOutput = 4 << 10
)

// newMailRunner runs an account's new_mail_command for the messages that
// arrive: `sh -c COMMAND sh PATH...`, the absolute paths of a batch of new
// message files as arguments ("$@") and on stdin, one per line, with / as
// working directory. Runs never overlap; what arrives
// during a run waits for the next. Output and failures go to the log. A
// run that takes longer than a minute is killed with its process group;
// a background job the command starts and leaves running when it exits
// is its own business.
type newMailRunner struct {
	account, command, mountpoint string
	log                          *slog.Logger
	debounce, timeout            time.Duration

	mu      sync.Mutex
	pending []string // guarded by mu
	kick    chan struct{}
}

func newNewMailRunner(account, command, mountpoint string, log *slog.Logger) *newMailRunner {
	return &newMailRunner{
		account: account, command: command, mountpoint: mountpoint, log: log,
		debounce: newMailDebounce, timeout: newMailTimeout,
		kick: make(chan struct{}, 1),
	}
}

// add queues the paths (relative to the mount point) of new messages. It
// never blocks.
func (r *newMailRunner) add(paths []string) {
	r.mu.Lock()
	for _, p := range paths {
		r.pending = append(r.pending, filepath.Join(r.mountpoint, p))
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run runs the command for queued mail until ctx is done.
func (r *newMailRunner) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.debounce):
		}
		for {
			r.mu.Lock()
			n := min(len(r.pending), newMailBatch)
			batch := r.pending[:n:n]
			r.pending = r.pending[n:]
			r.mu.Unlock()
			if n == 0 {
				break
			}
			r.runOnce(ctx, batch)
		}
	}
}

// runOnce runs the command once for paths.
func (r *newMailRunner) runOnce(ctx context.Context, paths []string) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", r.command, "sh"}, paths...)...)
	// Never the mount point: between fork and exec the child shares the
	// daemon's memory (vfork), so a FUSE request from it (chdir into the
	// mount) can wait for a daemon that a garbage collection has stopped
	// waiting for the child: both hang for good (found by the soak test).
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	// Output goes to a file, not a pipe: a background job the command
	// leaves running (notify-send &) would hold a pipe open and keep the
	// run from ending.
	out, err := os.CreateTemp("", "mailfs-new-mail-*")
	if err != nil {
		r.log.Warn("new_mail_command not run: no temporary file for its output", "account", r.account, "err", err)
		return
	}
	os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// The command's own children go with it when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = cmd.Run()
	output := make([]byte, newMailOutput+1)
	n, _ := out.ReadAt(output, 0)
	output = output[:n]
	if n > newMailOutput {
		output = append(output[:newMailOutput:newMailOutput], "…"...)
	}
	attrs := []any{"account", r.account, "messages", len(paths), "took", time.Since(start).Round(time.Millisecond)}
	if len(output) > 0 {
		attrs = append(attrs, "output", string(bytes.TrimSpace(output)))
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.log.Warn("new_mail_command killed: it ran longer than "+r.timeout.String(), attrs...)
	case ctx.Err() != nil:
		r.log.Info("new_mail_command stopped: mailfs is stopping", attrs...)
	case err != nil:
		r.log.Warn("new_mail_command failed", append(attrs, "err", err)...)
	default:
		r.log.Info("new_mail_command ran", attrs...)
	}
}
