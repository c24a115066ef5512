// Package sigstorm reads a directory tree the way a program that never
// retries EINTR does, while its thread receives a storm of signals. Tests
// use it to show that a FUSE mount never fails an operation because the
// caller got a signal: the kernel sends INTERRUPT for every signal that
// reaches a thread waiting on a FUSE request, and whatever the daemon then
// answers is what the syscall returns.
package sigstorm

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// signals are what ReadTree sends to its reading thread: a timer's (as
// profilers and progress bars have), a child's exit (as shells get) and
// the one the Go runtime uses to preempt goroutines.
var signals = [...]syscall.Signal{syscall.SIGALRM, syscall.SIGCHLD, syscall.SIGURG}

// ReadTree reads every file under root and returns their contents by path
// relative to root (slash-separated). It lists each directory with
// getdents, stats each entry, opens each file, fstats it and reads it to
// the end, all with raw system calls on one locked OS thread, so that an
// EINTR is returned as an error and never retried (the os package retries
// it). Meanwhile another goroutine sends SIGALRM, SIGCHLD and SIGURG to
// that thread with tgkill, first at once and then every interval; SIGALRM and SIGCHLD are caught (signal.Notify) for the
// duration, so that the process survives them.
//
// The first failing call ends the walk; its error names the call and the
// path, and wraps the errno (errors.Is(err, syscall.EINTR)).
func ReadTree(root string, every time.Duration) (map[string][]byte, error) {
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGALRM, syscall.SIGCHLD)
	defer signal.Stop(caught)

	type result struct {
		files map[string][]byte
		err   error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := syscall.Gettid()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var sendErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendErr = storm(os.Getpid(), tid, every, stop)
		}()
		files := make(map[string][]byte)
		err := readDir(root, "", files)
		close(stop)
		wg.Wait()
		// Pending signals are delivered before this thread runs Go
		// code again, that is, before signal.Stop.
		done <- result{files, errors.Join(err, sendErr)}
	}()
	r := <-done
	return r.files, r.err
}

// storm sends the signals to thread tid of process pid, at once and then
// every interval until stop is closed.
func storm(pid, tid int, every time.Duration, stop <-chan struct{}) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, sig := range signals {
			if err := syscall.Tgkill(pid, tid, sig); err != nil {
				return fmt.Errorf("sigstorm: tgkill %v: %w", sig, err)
			}
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

// readDir reads the directory root/rel and everything under it into files.
func readDir(root, rel string, files map[string][]byte) error {
	dir := filepath.Join(root, rel)
	names, err := list(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		r := filepath.ToSlash(filepath.Join(rel, name))
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			if err := readDir(root, filepath.Join(rel, name), files); err != nil {
				return err
			}
		case syscall.S_IFREG:
			b, err := readFile(p)
			if err != nil {
				return err
			}
			files[r] = b
		}
	}
	return nil
}

// list returns the names in dir, read with getdents.
func list(dir string) ([]string, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer syscall.Close(fd)
	var names []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err != nil {
			return nil, fmt.Errorf("getdents %s: %w", dir, err)
		}
		if n == 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

// readFile opens p, fstats it and reads it to the end.
func readFile(p string) ([]byte, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("fstat %s: %w", p, err)
	}
	b := make([]byte, 0, st.Size)
	buf := make([]byte, 32<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if n == 0 {
			return b, nil
		}
		b = append(b, buf[:n]...)
	}
}
