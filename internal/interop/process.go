package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemon is a server master process started in the foreground in its own
// process group, so that it and every child it forks can be found and
// stopped.
type daemon struct {
	name string // for messages: "dovecot"
	cmd  *exec.Cmd
	done chan struct{} // closed when the master has exited and been reaped

	mu     sync.Mutex
	output bytes.Buffer // the master's stdout and stderr; guarded by mu
	err    error        // the master's exit status once done is closed
}

// startDaemon starts path with args in a new process group. The master gets
// SIGTERM if the program that started it (a test binary, mailbench) dies,
// so a panicking or timed-out test or a killed benchmark does not leave a
// server behind (checked: Dovecot is gone ~3 s after mailbench's SIGKILL).
func startDaemon(name, path string, args ...string) (*daemon, error) {
	d := &daemon{name: name, done: make(chan struct{})}
	d.cmd = exec.Command(path, args...)
	d.cmd.Stdout = (*lockedWriter)(d)
	d.cmd.Stderr = (*lockedWriter)(d)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		err := d.cmd.Wait()
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		close(d.done)
	}()
	return d, nil
}

type lockedWriter daemon

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.Write(p)
}

// Output returns what the master wrote to stdout and stderr.
func (d *daemon) Output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.output.String()
}

// exited reports whether the master has exited, and its status.
func (d *daemon) exited() (bool, error) {
	select {
	case <-d.done:
		d.mu.Lock()
		defer d.mu.Unlock()
		return true, d.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the master, waits for it and then for every other
// process of its group (the children it forked) to be gone. What is still
// alive after timeout gets SIGKILL; an error says which processes needed it.
func (d *daemon) stop(timeout time.Duration) error {
	pgid := d.cmd.Process.Pid
	if ok, _ := d.exited(); !ok {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(timeout)
	select {
	case <-d.done:
	case <-time.After(time.Until(deadline)):
	}
	for time.Now().Before(deadline) {
		if ok, _ := d.exited(); ok && len(groupMembers(pgid)) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	left := groupMembers(pgid)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-d.done
	if len(left) == 0 {
		return fmt.Errorf("%s master (pid %d) did not exit within %v after SIGTERM; killed", d.name, pgid, timeout)
	}
	return fmt.Errorf("%s processes still running %v after SIGTERM, killed: %s", d.name, timeout, strings.Join(left, ", "))
}

// groupMembers lists the live (non-zombie) processes of process group pgid
// as "PID (COMM)".
func groupMembers(pgid int) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(string(stat[closing+1:]))
		if len(fields) < 3 {
			continue
		}
		if fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err == nil && g == pgid {
			out = append(out, fmt.Sprintf("%d (%s)", pid, stat[open+1:closing]))
		}
	}
	return out
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. All listeners
// are held until the last one is chosen so the ports differ; another
// process may still take one before the server binds it, which the caller
// handles by retrying.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// makeTraversable makes dir and its ancestors that lie under the system
// temporary directory 0755, so that a server's unprivileged users can reach
// files below dir (t.TempDir creates 0700 directories). Ancestors outside
// it are only checked: it is an error when one denies search to others.
func makeTraversable(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		tmp = os.TempDir()
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		real, _ := filepath.EvalSymlinks(p)
		if p != tmp && real != tmp && (strings.HasPrefix(p, tmp+"/") || strings.HasPrefix(real, tmp+"/")) {
			if err := os.Chmod(p, 0o755); err != nil {
				return fmt.Errorf("make %s traversable: %w", p, err)
			}
		} else if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("directory %s denies search to other users (mode %v); the server's unprivileged users need to reach %s: use a TMPDIR that others can traverse", p, fi.Mode().Perm(), dir)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// tail returns the last n lines of the file at path, or a note that says
// why it cannot.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "(no log file " + path + ")"
	}
	if err != nil {
		return fmt.Sprintf("(read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// withFreePorts calls try with n free loopback ports (see freePorts) until
// it returns nil. A port can be taken by someone else before the server
// binds it: when try fails with "Address already in use" it is called again
// with new ports, three times in all; logf (if not nil) is told of each
// retry. Any other error, or the third, is returned; try's errors say which
// server they come from.
func withFreePorts(name string, n int, logf func(format string, args ...any), try func(ports []int) error) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(n)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		err = try(ports)
		if err == nil {
			return nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "Address already in use") {
			if logf != nil {
				logf("%s: a port was taken, retrying: %v", name, err)
			}
			continue
		}
		return err
	}
}

// instance describes a server master for runInstance.
type instance struct {
	name    string   // for messages: "dovecot"
	dir     string   // the instance's directory, for messages
	logFile string   // the server's log, whose tail goes into messages
	path    string   // the master program
	args    []string // its arguments
	// addr is where a line starting with greeting ("* OK", "220 ") tells
	// that the server is up; protocol names it in messages ("IMAP").
	addr, greeting, protocol string
	startTimeout             time.Duration // for the greeting
	stopTimeout              time.Duration // see daemon.stop
	// failed, when set, reports a failure at startup that the master
	// survives (checked while waiting for the greeting).
	failed func() bool
}

// runInstance starts the master of in with startDaemon and waits for its
// greeting. On success the caller owns the running master and stops it
// (daemon.stop); on an error it is stopped already and nil is returned.
func runInstance(in instance) (*daemon, error) {
	proc, err := startDaemon(in.name, in.path, in.args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.name, err)
	}
	stop := func() error { return proc.stop(in.stopTimeout) }

	deadline := time.Now().Add(in.startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if done, exitErr := proc.exited(); done {
			stopErr := stop() // its children may live on
			return nil, fmt.Errorf("%s in %s exited during startup (%v; stop: %v)\noutput:\n%s\nlog (%s):\n%s",
				in.name, in.dir, exitErr, stopErr, proc.Output(), in.logFile, tail(in.logFile, 30))
		}
		if in.failed != nil && in.failed() {
			stopErr := stop()
			return nil, fmt.Errorf("%s in %s failed at startup (stop: %v)\noutput:\n%s\nlog (%s):\n%s",
				in.name, in.dir, stopErr, proc.Output(), in.logFile, tail(in.logFile, 30))
		}
		greeting, err := readGreeting(in.addr, time.Second)
		if err == nil && strings.HasPrefix(greeting, in.greeting) {
			return proc, nil
		}
		if err == nil {
			err = fmt.Errorf("unexpected greeting %q", greeting)
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	stopErr := stop()
	return nil, fmt.Errorf("%s in %s: no %s greeting on %s within %v: %v (stop: %v)\noutput:\n%s\nlog (%s):\n%s",
		in.name, in.dir, in.protocol, in.addr, in.startTimeout, lastErr, stopErr, proc.Output(), in.logFile, tail(in.logFile, 30))
}

// readGreeting connects to addr and returns the first line the server sends.
func readGreeting(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read greeting from %s: %w", addr, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
