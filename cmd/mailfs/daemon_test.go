package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// daemonPID finds the background process's pid in what mount -daemon
// printed; 0 when it did not say.
func daemonPID(out string) int {
	m := regexp.MustCompile(`in the background \(pid (\d+),`).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// alive reports whether process pid runs (a zombie, which no init may
// reap in a container, counts as gone).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// stopDaemon unmounts mnt, as a user would, and waits up to 20s for the
// background mailfs (pid; 0 when unknown) to exit, killing it otherwise.
func stopDaemon(t *testing.T, mnt string, pid *int) {
	t.Helper()
	if isMounted(t, mnt) {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	}
	if *pid == 0 {
		return
	}
	deadline := time.Now().Add(20 * time.Second)
	for alive(*pid) {
		if time.Now().After(deadline) {
			t.Errorf("the background mailfs (pid %d) still runs 20s after the unmount; killing it", *pid)
			syscall.Kill(*pid, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonMount: mount -daemon returns only once the mount answers, so
// the mail is there at once, and the background process logs to
// -log-file and exits when unmounted.
func TestDaemonMount(t *testing.T) {
	requireFUSE(t)
	srv := remotetest.NewIMAP(t, nil)
	samples := seedSamples(t, srv)
	mnt := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "state", "mailfs.log")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := mailfsCommand(t, "mount", mnt, "--daemon", "-log-file", logFile, "-config", imapConfig(t, srv, t.TempDir()))
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = append(os.Environ(), "MAILFS_TEST_MAIN=1", "XDG_DATA_HOME="+t.TempDir())
	var pid int
	t.Cleanup(func() { stopDaemon(t, mnt, &pid) })
	out, err := cmd.CombinedOutput()
	pid = daemonPID(string(out))
	if err != nil || pid == 0 {
		t.Fatalf("mailfs mount --daemon: %v, want exit 0 naming the pid; output:\n%s", err, out)
	}
	if p := samples[0].path(mnt, "test"); func() error { _, err := os.Stat(p); return err }() != nil {
		t.Errorf("stat %s right after mount --daemon returned: %v", p, err)
	}
	for path, want := range map[string]os.FileMode{filepath.Dir(logFile): os.ModeDir | 0o700, logFile: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("stat %s: got %v, %v, want %v", path, fi.Mode(), err, want)
		}
	}
	if data, _ := os.ReadFile(logFile); !strings.Contains(string(data), "msg=mounted") {
		t.Errorf("the log file lacks the mount line:\n%s", data)
	}
	stopDaemon(t, mnt, &pid)
	if alive(pid) {
		t.Errorf("pid %d still runs after the unmount", pid)
	}
}

// TestDaemonFailsEarly: when the background process cannot mount, mount
// -daemon exits non-zero at once with the end of its log.
func TestDaemonFailsEarly(t *testing.T) {
	requireFUSE(t)
	mnt := filepath.Join(t.TempDir(), "missing")
	cmd := mailfsCommand(t, "mount", "--daemon", mnt, "-log-file", filepath.Join(t.TempDir(), "mailfs.log"), "-config", filepath.Join(t.TempDir(), "none.toml"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "exited before mounting") || !strings.Contains(string(out), "none.toml") {
		t.Errorf("got %v after %v, want exit 1 with the log tail naming the config; output:\n%s", err, time.Since(start), out)
	}
}

// TestFstabMount mounts as mount(8) does for an fstab line of type
// fuse.mailfs: mount.fuse3 runs `mailfs none MOUNTPOINT -o OPTS,dev,suid`,
// and mount must return with the mount answering. mount(8) gives its
// helpers the standard PATH (/usr/local/sbin:...:/bin), where the test's
// binary is not, so the test names it in the equivalent form of type
// fuse with source BINARY#none, which runs the same command line.
func TestFstabMount(t *testing.T) {
	requireFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("skipping: mount -t fuse.mailfs as a user needs an fstab entry; this test runs as root only")
	}
	if _, err := exec.LookPath("mount.fuse3"); err != nil {
		t.Skip("skipping: mount.fuse3 is missing (apt-get install fuse3)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: the go command is needed to build the mailfs binary")
	}
	bin := t.TempDir()
	if out, err := exec.Command(goTool, "build", "-o", filepath.Join(bin, "mailfs"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := remotetest.NewIMAP(t, nil)
	samples := seedSamples(t, srv)
	mnt := t.TempDir()
	cmd := exec.Command("mount", "-t", "fuse", filepath.Join(bin, "mailfs")+"#none", mnt, "-o", "ro,config="+imapConfig(t, srv, t.TempDir()))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	var pid int
	t.Cleanup(func() { stopDaemon(t, mnt, &pid) })
	out, err := cmd.CombinedOutput()
	pid = daemonPID(string(out))
	if err != nil {
		t.Fatalf("mount -t fuse: %v; output:\n%s", err, out)
	}
	if pid == 0 {
		t.Errorf("mount output does not name the background mailfs:\n%s", out)
	}
	if _, err := os.Stat(samples[0].path(mnt, "test")); err != nil {
		t.Errorf("stat right after mount returned: %v", err)
	}
	if ms, err := mailfsMountIDs(mnt); err != nil || len(ms) != 1 {
		t.Errorf("mount table: %d fuse.mailfs mounts on %s, %v, want 1", len(ms), mnt, err)
	}
	if err := os.Remove(samples[0].path(mnt, "test")); !errors.Is(err, syscall.EROFS) {
		t.Errorf("rm on the ro fstab mount: got %v, want EROFS", err)
	}
}

// TestSecondSignalForcesExit: a mount kept busy by a process whose
// working directory is in it is not unmounted by the first SIGTERM, which
// names the process; the second detaches it lazily and the command exits
// at once.
func TestSecondSignalForcesExit(t *testing.T) {
	requireFUSE(t)
	srv := remotetest.NewIMAP(t, nil)
	seedSamples(t, srv)
	mnt := t.TempDir()
	cmd, out, exited := startMailfs(t, mnt, "mount", mnt, "-config", imapConfig(t, srv, t.TempDir()))
	eventually(t, 20*time.Second, "never mounted; output:\n"+out.String(), func() bool { return isMounted(t, mnt) })

	holder := exec.Command("sleep", "60")
	holder.Dir = filepath.Join(mnt, "test")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })

	cmd.Process.Signal(syscall.SIGTERM)
	eventually(t, 10*time.Second, "the busy mount's holder never logged; output:\n"+out.String(), func() bool {
		return strings.Contains(out.String(), fmt.Sprintf("pid=%d comm=sleep", holder.Process.Pid))
	})
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) after one signal with the mount busy, want it to wait; output:\n%s", err, out.String())
	case <-time.After(1500 * time.Millisecond): // past the lazy detach
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after the second signal: %v, want 0; output:\n%s", err, out.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("still running 2s after the second signal; output:\n%s", out.String())
	}
	if isMounted(t, mnt) {
		t.Errorf("%s still mounted after the forced exit", mnt)
	}
}

// TestNotifyReady runs a foreground mount as a Type=notify systemd
// service does: READY=1 arrives on $NOTIFY_SOCKET once the mount answers.
func TestNotifyReady(t *testing.T) {
	requireFUSE(t)
	srv := remotetest.NewIMAP(t, nil)
	samples := seedSamples(t, srv)
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := netListenUnixgram(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mnt := t.TempDir()
	cmd := mailfsCommand(t, "mount", mnt, "-config", imapConfig(t, srv, t.TempDir()))
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0; output:\n%s", err, out.String())
		}
		if isMounted(t, mnt) {
			t.Errorf("%s still mounted", mnt)
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "READY=1\n") {
		t.Fatalf("notification: got %q, %v, want READY=1; output:\n%s", buf[:n], err, out.String())
	}
	if _, err := os.Stat(samples[0].path(mnt, "test")); err != nil {
		t.Errorf("stat right after READY=1: %v", err)
	}
}
