package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

func TestFormatVersion(t *testing.T) {
	for _, tc := range []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{}, "mailfs (devel)"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc1234def5678"}, {Key: "vcs.time", Value: "2026-12-01T04:50:29Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "mailfs (devel) rev abc1234 2026-12-01"},
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc1234def5678"}, {Key: "vcs.modified", Value: "true"},
		}}, "mailfs v1.2.0 rev abc1234+dirty"},
	} {
		if got := formatVersion(&tc.bi); got != tc.want {
			t.Errorf("formatVersion(%v): got %q, want %q", tc.bi.Settings, got, tc.want)
		}
	}
}

// TestVersionCommand runs every spelling of the version command.
func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-V"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{arg}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "mailfs ") || errOut.Len() != 0 {
			t.Errorf("mailfs %s: got exit %d, stdout %q, stderr %q, want 0 and a line starting \"mailfs \" on stdout", arg, code, out.String(), errOut.String())
		}
	}
}

// TestHelp asks for each command's help both ways: it goes to stdout and
// exits 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "mount"}, {"mount", "--help"}, {"mount", "/mnt", "-h"}, {"help", "check"}, {"check", "-help"}, {"demo", "--help"}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		name := args[0]
		if name == "help" {
			name = args[1]
		}
		if code != 0 || !strings.HasPrefix(out.String(), "Usage: mailfs "+name) || errOut.Len() != 0 {
			t.Errorf("mailfs %q: got exit %d, stdout %q, stderr %q, want 0 and the %s usage on stdout", args, code, out.String(), errOut.String(), name)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help", "nosuch"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "nosuch"`) {
		t.Errorf("mailfs help nosuch: got exit %d, stderr %q, want 2 naming the command", code, errOut.String())
	}
}

// TestParseFlagsInterleaved parses flags before, between and after the
// positional arguments.
func TestParseFlagsInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		config  string
		verbose bool
		opts    string
		daemon  bool
	}{
		{args: []string{"/mnt"}, want: []string{"/mnt"}},
		{args: []string{"/mnt", "-v"}, want: []string{"/mnt"}, verbose: true},
		{args: []string{"-v", "/mnt", "-config", "c.toml"}, want: []string{"/mnt"}, config: "c.toml", verbose: true},
		{args: []string{"none", "/mnt", "-o", "rw,nosuid,nodev,config=/c"}, want: []string{"none", "/mnt"}, opts: "config=/c"},
		{args: []string{"-o", "ro", "/mnt", "-o", "allow_other", "--daemon"}, want: []string{"/mnt"}, opts: "ro,allow_other", daemon: true},
		{args: []string{"-v", "--", "-odd-dir"}, want: []string{"-odd-dir"}, verbose: true},
	} {
		f, pos, err := parseFlags("mount", tc.args, nil, true, len(tc.want))
		if err != nil {
			t.Errorf("parseFlags(%q): %v", tc.args, err)
			continue
		}
		if !slices.Equal(pos, tc.want) || f.config != tc.config || f.verbose != tc.verbose || f.opts.String() != tc.opts || f.daemon != tc.daemon {
			t.Errorf("parseFlags(%q): got %q config=%q v=%v o=%q daemon=%v, want %q config=%q v=%v o=%q daemon=%v",
				tc.args, pos, f.config, f.verbose, f.opts.String(), f.daemon, tc.want, tc.config, tc.verbose, tc.opts, tc.daemon)
		}
	}
	if _, _, err := parseFlags("mount", []string{"/a", "/b"}, nil, true, 1); !errors.Is(err, errUsage) {
		t.Errorf("two mountpoints: got %v, want a usage error", err)
	}
	if _, _, err := parseFlags("mount", []string{"/a", "--help"}, nil, true, 1); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help after the mountpoint: got %v, want flag.ErrHelp", err)
	}
}

func TestMountOptions(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "ro", want: "ro"},
		{in: "rw,nosuid,nodev,config=/home/me/c.toml", want: "config=/home/me/c.toml"},
		{in: "defaults,noauto,user,users,nofail,_netdev,x-systemd.automount,x-systemd.mount-timeout=30", want: ""},
		{in: "allow_other,default_permissions,ro", want: "ro,allow_other,default_permissions"},
		{in: "", want: ""},
		{in: "ro,bogus", err: `unknown mount option "bogus"`},
		{in: "uid=1000", err: `unknown mount option "uid=1000"`},
		{in: "config=", err: "config=FILE"},
	} {
		var o mountOptions
		err := o.parse(tc.in)
		switch {
		case tc.err != "":
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("-o %q: got %v, want a usage error containing %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("-o %q: got %v, want %q", tc.in, err, tc.want)
		case o.String() != tc.want:
			t.Errorf("-o %q: got %q, want %q", tc.in, o.String(), tc.want)
		}
	}
}

func TestCheckAllowOther(t *testing.T) {
	for _, tc := range []struct {
		euid int
		conf string
		ok   bool
	}{
		{0, "", true},
		{1000, "", false},
		{1000, "# user_allow_other\nmount_max = 1000\n", false},
		{1000, "mount_max = 1000\n  user_allow_other\n", true},
	} {
		if err := checkAllowOther(tc.euid, []byte(tc.conf)); (err == nil) != tc.ok {
			t.Errorf("checkAllowOther(%d, %q): got %v, want ok=%v", tc.euid, tc.conf, err, tc.ok)
		} else if err != nil && !strings.Contains(err.Error(), "user_allow_other") {
			t.Errorf("checkAllowOther error %q does not say what to do", err)
		}
	}
}

func TestMountHelperCall(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"none", "/mnt/mail", "-o", "rw,config=/c"}, true},
		{[]string{"mailfs", "/mnt/mail"}, true},
		{[]string{"nosuch"}, false},
		{[]string{"-x", "/mnt"}, false},
		{[]string{"none", "-o", "ro"}, false},
	} {
		if got := isMountHelperCall(tc.args); got != tc.want {
			t.Errorf("isMountHelperCall(%q): got %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestRelaySignals: the first signal stops gracefully, the second forces,
// and nothing happens before a signal.
func TestRelaySignals(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	stopped, forced := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		relaySignals(sigs, func() { close(stopped) }, func() { close(forced) })
		close(done)
	}()
	select {
	case <-stopped:
		t.Fatal("stopped before any signal")
	case <-time.After(10 * time.Millisecond):
	}
	sigs <- os.Interrupt
	<-stopped
	select {
	case <-forced:
		t.Fatal("forced after one signal, want only after a second")
	case <-time.After(10 * time.Millisecond):
	}
	sigs <- syscall.SIGTERM
	<-forced
	<-done
}

func TestParseMailfsMountIDs(t *testing.T) {
	table := []byte(`22 1 0:21 / /proc rw - proc proc rw
40 22 0:50 / /home/me/my\040mail rw,nosuid,nodev - fuse.mailfs mailfs rw,user_id=0
41 40 0:51 / /home/me/my\040mail rw - tmpfs tmpfs rw
42 41 0:52 / /home/me/my\040mail rw,nosuid - fuse.mailfs mailfs rw
43 22 0:53 / /other rw - fuse.mailfs mailfs rw
`)
	if got := parseMailfsMountIDs(table, "/home/me/my mail"); !slices.Equal(got, []string{"42"}) {
		t.Errorf("got %q, want [42] (the tmpfs hides 40)", got)
	}
	if got := parseMailfsMountIDs(table, "/nowhere"); got != nil {
		t.Errorf("got %q, want none", got)
	}
}

func TestSdNotify(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "notify")
	conn, err := netListenUnixgram(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sdNotify(addr, "READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("got %q, %v, want READY=1", buf[:n], err)
	}
	if err := sdNotify("", "READY=1"); err != nil {
		t.Errorf("no NOTIFY_SOCKET: got %v, want nil", err)
	}
}

// TestFlagsAfterMountpoint mounts with every flag after the mountpoint.
func TestFlagsAfterMountpoint(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seedSamples(t, srv)
	mnt := t.TempDir()
	logs := runMountAt(t, mnt, "mount", mnt, "-v", "-config", imapConfig(t, srv, t.TempDir()))
	if _, err := os.Stat(filepath.Join(mnt, "test", "INBOX")); err != nil {
		t.Errorf("stat test/INBOX: %v", err)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("-v after the mountpoint: no debug line in the log:\n%s", logs)
	}
}

// TestReadOnlyMountCommand mounts an IMAP+SMTP account with -o ro after
// the mountpoint: mail reads, changes fail with EROFS and reach no server,
// and there is no outbox, on the mount, on disk or towards SMTP.
func TestReadOnlyMountCommand(t *testing.T) {
	e := newSendEnv(t, nil)
	uid, err := e.imap.Append("INBOX", []byte("Subject: keep me\r\n\r\nStill here.\r\n"), nil, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	mnt := t.TempDir()
	runMountAt(t, mnt, "mount", mnt, "-o", "ro", "-config", e.config)

	root := dirNames(t, mnt)
	if slices.Contains(root, "outbox") {
		t.Errorf("root lists %q, want no outbox", root)
	}
	inbox := filepath.Join(mnt, "me", "INBOX")
	names := dirNames(t, inbox)
	if len(names) != 1 {
		t.Fatalf("INBOX lists %q, want the one message", names)
	}
	msg := filepath.Join(inbox, names[0])
	if body, err := os.ReadFile(msg); err != nil || !bytes.Contains(body, []byte("Still here.")) {
		t.Errorf("read %s: got %q, %v, want the message", names[0], body, err)
	}
	for name, change := range map[string]func() error{
		"rm":    func() error { return os.Remove(msg) },
		"mkdir": func() error { return os.Mkdir(filepath.Join(mnt, "me", "New"), 0o700) },
		"cp": func() error {
			return os.WriteFile(filepath.Join(inbox, "x.eml"), []byte("Subject: x\r\n\r\nx\r\n"), 0o600)
		},
		"setxattr": func() error { return syscall.Setxattr(msg, "user.mail.flags", []byte(`\Flagged`), 0) },
		"mv":       func() error { return os.Rename(msg, filepath.Join(mnt, "me", "Sent", names[0])) },
	} {
		if err := change(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only mount: got %v, want EROFS", name, err)
		}
	}
	if fi, err := os.Stat(inbox); err != nil || fi.Mode().Perm() != 0o500 {
		t.Errorf("stat INBOX: got %v, %v, want mode 0500", fi.Mode(), err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil || st.Flags&1 == 0 { // ST_RDONLY
		t.Errorf("statfs: flags %#x, %v, want ST_RDONLY (the kernel's ro)", st.Flags, err)
	}
	if flags, err := e.imap.Flags("INBOX"); err != nil || slices.Contains(flags[uid], `\Flagged`) || slices.Contains(flags[uid], `\Deleted`) {
		t.Errorf("server flags of the message: got %v, %v, want unchanged", flags[uid], err)
	}
	if _, err := os.Stat(filepath.Join(data, "mailfs", "outbox")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat the outbox spool: got %v, want it never made", err)
	}
	if n := e.smtp.Connections(); n != 0 {
		t.Errorf("SMTP connections: got %d, want 0", n)
	}
}

// netListenUnixgram listens for datagrams at path, as systemd does.
func netListenUnixgram(path string) (*net.UnixConn, error) {
	return net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
}
