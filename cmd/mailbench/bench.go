package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// The two Dovecot users: the corpus, and the big folder of the ls test.
// Their names are also the account names, so the mount holds
// MOUNT/bench and MOUNT/big.
const (
	corpusUser = "bench"
	lsUser     = "big"
	// benchPassword is the password of both users; they live only in the
	// private Dovecot instance on loopback.
	benchPassword = "bench-pw"
)

// bench is one run: what it started, in order, so cleanup can stop it.
type bench struct {
	opts           options
	stdout, stderr io.Writer

	work     string         // work directory
	cleanups []func() error // run in reverse order by cleanup
}

// onCleanup registers f to run at cleanup, before those registered earlier.
func (b *bench) onCleanup(f func() error) { b.cleanups = append(b.cleanups, f) }

// cleanup runs every registered cleanup, the last registered first, also
// when one fails, and returns their errors joined.
func (b *bench) cleanup() error {
	var errs []error
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		if err := b.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	b.cleanups = nil
	return errors.Join(errs...)
}

// progress prints a step to stderr, so a long run shows where it is.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.stderr, "mailbench: "+format+"\n", args...)
}

// run sets everything up, measures, and returns the results. Whatever it
// started is stopped by cleanup, also after an error.
func (b *bench) run(ctx context.Context) (*results, error) {
	o := b.opts
	if err := checkTools(); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "mailbench-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	b.work = work
	if err := warmDisk(work, 2*(o.n+o.ls)); err != nil {
		return nil, err
	}
	b.onCleanup(func() error {
		if o.keep {
			fmt.Fprintf(b.stderr, "mailbench: work directory kept: %s\n", work)
			return nil
		}
		// Never remove a tree with a live mount in it: the cleanups that
		// run before this one unmount, and say so if they could not.
		if mnt := filepath.Join(work, "mnt"); isMounted(mnt) {
			return fmt.Errorf("%s is still mounted: not removing %s (run 'umount -l %s')", mnt, work, mnt)
		}
		return os.RemoveAll(work)
	})

	bin := o.mailfs
	if bin == "" {
		b.progress("building mailfs (go build ./cmd/mailfs)")
		if bin, err = buildMailfs(ctx, work); err != nil {
			return nil, err
		}
	} else if bin, err = exec.LookPath(bin); err != nil {
		return nil, fmt.Errorf("-mailfs: %w", err)
	}

	corpus := NewCorpus(o.n)
	res := &results{opts: o, corpus: corpus, mailfs: bin}

	b.progress("starting Dovecot")
	d, err := interop.LaunchDovecot(&interop.DovecotOptions{Users: map[string]string{corpusUser: benchPassword, lsUser: benchPassword}})
	if err != nil {
		return nil, err
	}
	b.onCleanup(d.Close)

	b.progress("seeding %d messages for %s and %d for %s", o.n, corpusUser, o.ls, lsUser)
	start := time.Now()
	all := corpus.All()
	sized := func(yield func(interop.MaildirMessage) bool) {
		for m := range all {
			res.corpusBytes += int64(len(m.Text))
			if ctx.Err() != nil || !yield(m) {
				return
			}
		}
	}
	if _, err := d.Seed(corpusUser, sized); err != nil {
		return nil, err
	}
	if _, err := d.Seed(lsUser, LsMessages(o.ls)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for folder, want := range corpus.Folders {
		if got, err := d.Count(corpusUser, folder); err != nil || got != want {
			return nil, fmt.Errorf("seeded %s/%s: Dovecot counts %d, %v; want %d", corpusUser, folder, got, err, want)
		}
	}
	b.progress("seeded in %v", time.Since(start).Round(time.Millisecond))

	host, port := d.Host, d.IMAPPort
	if o.rtt > 0 {
		p, err := remotetest.StartProxy(d.IMAPAddr(), &remotetest.ProxyOptions{Latency: o.rtt})
		if err != nil {
			return nil, err
		}
		b.onCleanup(p.Close)
		host, port = p.Host(), p.Port()
	}

	m, err := b.mount(ctx, bin, host, port)
	if err != nil {
		return nil, err
	}
	if err := b.measure(ctx, res, m, host, port); err != nil {
		return nil, err
	}
	if err := m.stop(); err != nil {
		return nil, err
	}
	return res, nil
}

// measure runs the measurements in the order that keeps them fair: the
// mount's cold grep first (Dovecot is then as warm for mbsync as for
// mailfs), mbsync next, then the warm runs, the search folder and the ls
// test.
func (b *bench) measure(ctx context.Context, res *results, m *mount, host string, port int) error {
	acct := filepath.Join(m.dir, corpusUser)
	b.progress("cold grep -rl through the mount")
	cpu0, err := procCPU(m.cmd.Process.Pid)
	if err != nil {
		return err
	}
	g, err := grepCount(ctx, acct)
	if err != nil {
		return err
	}
	res.coldMount = g
	cpu1, err := procCPU(m.cmd.Process.Pid)
	if err != nil {
		return err
	}
	res.coldMountCPU = cpu1 - cpu0

	b.progress("mbsync pull into an empty Maildir")
	maildir := filepath.Join(b.work, "maildir")
	if res.mbsync, err = runMbsync(ctx, b.work, maildir, host, port, corpusUser, benchPassword); err != nil {
		return err
	}
	if res.maildirMessages, err = countMaildir(maildir); err != nil {
		return err
	}
	if res.maildirCold, err = grepCount(ctx, maildir); err != nil {
		return err
	}

	b.progress("warm grep -rl, 3 times each")
	for range 3 {
		g, err := grepCount(ctx, acct)
		if err != nil {
			return err
		}
		res.warmMount = append(res.warmMount, g)
		if g, err = grepCount(ctx, maildir); err != nil {
			return err
		}
		res.warmMaildir = append(res.warmMaildir, g)
	}

	b.progress("search folder for %s, 3 times", Word)
	for range 3 {
		s, err := searchCount(ctx, acct)
		if err != nil {
			return err
		}
		res.search = append(res.search, s)
	}

	folder := filepath.Join(m.dir, lsUser, "INBOX")
	b.progress("ls -l of %d messages, cold then 3 times warm", b.opts.ls)
	if res.lsCold, err = lsCount(ctx, folder); err != nil {
		return err
	}
	for range 3 {
		l, err := lsCount(ctx, folder)
		if err != nil {
			return err
		}
		res.lsWarm = append(res.lsWarm, l)
	}

	if res.peakRSS, err = peakRSS(m.cmd.Process.Pid); err != nil {
		return err
	}
	return nil
}

// checkTools says what to install when a program the benchmark runs is
// missing. Dovecot is checked by interop.LaunchDovecot.
func checkTools() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("no /dev/fuse: mailfs needs FUSE (%v)", err)
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			return errors.New("not root and no fusermount3: run as root or apt-get install fuse3")
		}
	}
	for _, tool := range []struct{ name, pkg string }{{"mbsync", "isync"}, {"grep", "grep"}, {"ls", "coreutils"}} {
		if _, err := exec.LookPath(tool.name); err != nil {
			return fmt.Errorf("%s not found: apt-get install %s", tool.name, tool.pkg)
		}
	}
	return nil
}

// buildMailfs builds ./cmd/mailfs of the module mailbench belongs to into
// dir and returns the binary's path.
func buildMailfs(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module to build mailfs from (go env GOMOD): %w; give a binary with -mailfs", err)
	}
	mod := strings.TrimSpace(string(gomod))
	root := filepath.Dir(mod)
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the mailfs module: run from the repository (go run ./cmd/mailbench) or give a binary with -mailfs")
	}
	bin := filepath.Join(dir, "mailfs")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mailfs")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mailfs in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// countMaildir counts the message files (in cur/ and new/) below dir.
func countMaildir(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			if p := filepath.Base(filepath.Dir(path)); p == "cur" || p == "new" {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count messages in the Maildir %s: %w", dir, err)
	}
	return n, nil
}

// peakRSS returns VmHWM of process pid in bytes.
func peakRSS(pid int) (int64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read peak RSS of mailfs: %w", err)
	}
	var kb int64
	for line := range strings.SplitSeq(string(status), "\n") {
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read peak RSS of mailfs: no VmHWM line in /proc/%d/status", pid)
}

// warmDisk creates and removes n small files in a directory of work. On a
// new virtual disk the first file created in a fresh area costs far more
// (inode tables and blocks touched for the first time) than later ones;
// without this, whichever side of a comparison writes first pays that
// for both.
func warmDisk(work string, n int) error {
	dir := filepath.Join(work, "warmup")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("warm up the disk: %w", err)
	}
	buf := make([]byte, 4096)
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), buf, 0o600); err != nil {
			return fmt.Errorf("warm up the disk: %w", err)
		}
	}
	return os.RemoveAll(dir)
}
