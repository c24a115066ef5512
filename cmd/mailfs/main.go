// Command mailfs mounts mail accounts as a filesystem: IMAP folders become
// directories of .eml files.
//
//	mailfs mount [-config FILE] [-v] [-o OPTS] [-daemon [-log-file FILE]] MOUNTPOINT
//	mailfs check [-config FILE] [-v]
//	mailfs demo  [-v] MOUNTPOINT
//	mailfs version
//	mailfs help [COMMAND]
//	mailfs SOURCE MOUNTPOINT [-o OPTS]   (as mount.fuse3 runs it for fstab)
//
// main wires everything: the configuration, logging, the remote stores, the
// cache and the filesystem, and the signals that end a mount.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

const usage = `mailfs mounts mail accounts as a drive.

Usage:
  mailfs mount [-config FILE] [-v] [-o OPTS] [-daemon] MOUNTPOINT   mount every configured account
  mailfs check [-config FILE] [-v]              validate the config and log in to every server
  mailfs demo  [-v] MOUNTPOINT                  mount built-in sample accounts (no config needed)
  mailfs status [-json] [MOUNTPOINT]            show the accounts and the outbox of a running mount
  mailfs outbox retry [MOUNTPOINT]              send every waiting message now
  mailfs sendmail [-t] [-f FROM] [-oi] [RCPT...] queue the message on stdin (for mutt, scripts)
  mailfs version                                print the version
  mailfs help COMMAND                           describe a command and its flags

Flags may come before or after the MOUNTPOINT. The config is read from
$XDG_CONFIG_HOME/mailfs/config.toml unless -config is given. A mount runs
until interrupted (Ctrl-C, SIGTERM) or unmounted with
'fusermount3 -u MOUNTPOINT'; with -daemon it runs in the background.
`

// commandHelp is the description of each command for 'mailfs help CMD'
// and 'mailfs CMD -help'; its flags follow it.
func commandHelp(name string) (string, bool) {
	switch name {
	case "mount":
		return `Usage: mailfs mount [flags] MOUNTPOINT

Mounts every configured account at MOUNTPOINT and serves it until Ctrl-C,
SIGTERM or 'fusermount3 -u MOUNTPOINT'. A second Ctrl-C while the mount is
busy detaches it lazily and exits at once. With -daemon the command returns
as soon as the mount answers, leaving mailfs running in the background.

-o takes comma-separated mount options: ro (read-only: every change fails
with EROFS, no outbox/), allow_other (other users may use the mount; needs
user_allow_other in /etc/fuse.conf unless root), default_permissions,
config=FILE; rw, defaults, nofail, noauto, user, users, _netdev and
x-systemd.* are accepted and ignored. mount(8) runs mailfs for an fstab line
'none /home/me/mail fuse.mailfs noauto,user,config=/home/me/.config/mailfs/config.toml 0 0'
as 'mailfs none MOUNTPOINT -o OPTS', which mounts in the background.
`, true
	case "check":
		return `Usage: mailfs check [flags]

Validates the config, logs in to every server and prints what it offers.
Exits 1 if any account fails.
`, true
	case "demo":
		return `Usage: mailfs demo [flags] MOUNTPOINT

Mounts built-in sample accounts served by in-process servers on loopback
(no config, no network) until Ctrl-C.
`, true
	case "status":
		return `Usage: mailfs status [-json] [MOUNTPOINT]

Asks the running mailfs (the only one, or the one at MOUNTPOINT) for each
account's state (online, or offline since when and why; last contact and
sync), the IMAP cache's size against max_size, and the outbox's held,
waiting and failed messages. -json prints the same for scripts.
`, true
	case "outbox":
		return `Usage: mailfs outbox retry [MOUNTPOINT]

Sends every waiting message of the running mailfs now instead of at its
next try.
`, true
	case "sendmail":
		return `Usage: mailfs sendmail [-t] [-f FROM] [-i] [-oi] [RCPT...]

Reads a message on stdin and queues it in the running mailfs's outbox
(durable before it exits 0): mutt's set sendmail="mailfs sendmail". -t
takes the recipients from To, Cc and Bcc. Exit 65: invalid message; 75: no
mailfs running; 64: usage; 78: the mount has no outbox.
`, true
	case "version":
		return `Usage: mailfs version

Prints the module version and the VCS revision and time it was built from.
`, true
	case "help":
		return `Usage: mailfs help [COMMAND]

Describes mailfs, or COMMAND and its flags.
`, true
	}
	return "", false
}

// commandUsage is the help text of a known command, with its flags.
func commandUsage(name string) string {
	text, ok := commandHelp(name)
	if !ok {
		return usage
	}
	var f commonFlags
	fs := commandFlags(name, &f, name == "mount" || name == "check")
	var b bytes.Buffer
	b.WriteString(text)
	fs.SetOutput(&b)
	if hasFlags(fs) {
		b.WriteString("\nFlags:\n")
		fs.PrintDefaults()
	}
	return b.String()
}

// hasFlags reports whether fs defines any flag.
func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// errUsage marks a command-line mistake: the usage text is printed with it.
var errUsage = errors.New("usage")

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go relaySignals(sigs, cancel, func() {
		close(force)
		// serve returns at once after a lazy detach; should anything
		// still hold the process, the second signal ends it anyway.
		time.AfterFunc(3*time.Second, func() {
			fmt.Fprintln(os.Stderr, "mailfs: exiting on the second signal")
			os.Exit(1)
		})
	})
	ctx = withForce(ctx, force)
	stopProfile := startCPUProfile(os.Getenv("MAILFS_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// relaySignals turns the first signal from sigs into stop (end the mount
// gracefully: unmount, retrying while busy) and the second into force
// (detach lazily and exit at once). Later signals are ignored.
func relaySignals(sigs <-chan os.Signal, stop, force func()) {
	<-sigs
	stop()
	<-sigs
	force()
}

// forceKey is the context key of the channel closed on the second signal.
type forceKey struct{}

// withForce returns ctx carrying force, a channel closed when the user
// insists (a second Ctrl-C): a busy mount is then detached lazily at once.
func withForce(ctx context.Context, force <-chan struct{}) context.Context {
	return context.WithValue(ctx, forceKey{}, force)
}

// forced returns the channel withForce put in ctx; nil (never closed)
// when there is none.
func forced(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(forceKey{}).(<-chan struct{})
	return ch
}

// startCPUProfile writes a Go CPU profile of the whole run to path (for
// `go tool pprof`; MAILFS_CPUPROFILE, a developer's knob), nothing when
// path is empty. The returned function ends it.
func startCPUProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailfs: MAILFS_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// run executes one mailfs command and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := args[0]
	var err error
	switch name {
	case "mount":
		err = cmdMount(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args[1:], stdout, stderr)
	case "outbox":
		err = cmdOutbox(ctx, args[1:], stdout, stderr)
	case "sendmail":
		return cmdSendmail(ctx, args[1:], os.Stdin, stderr)
	case "version", "-V", "-version", "--version":
		name = "version"
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "-help", "--help":
		name = "help"
		switch {
		case len(args) == 1:
			fmt.Fprint(stdout, usage)
		case len(args) == 2:
			if _, ok := commandHelp(args[1]); !ok {
				err = fmt.Errorf("%w: help: unknown command %q", errUsage, args[1])
				break
			}
			fmt.Fprint(stdout, commandUsage(args[1]))
		default:
			err = fmt.Errorf("%w: help takes one COMMAND", errUsage)
		}
	default:
		if isMountHelperCall(args) {
			// mount(8) through mount.fuse3: mailfs SOURCE MOUNTPOINT -o OPTS.
			name = "mount"
			err = cmdMountHelper(ctx, args, stdout, stderr)
			break
		}
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, commandUsage(name))
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "mailfs: %v\n\n%s", err, commandUsage(name))
		return 2
	default:
		fmt.Fprintf(stderr, "mailfs: %v\n", err)
		return 1
	}
}

// commonFlags are the flags of the commands; each command defines those
// it takes (commandFlags).
type commonFlags struct {
	config  string
	verbose bool
	// The flags of mount only.
	opts    mountOptions
	daemon  bool
	logFile string
}

// commandFlags returns the flag set of command name, filling f.
func commandFlags(name string, f *commonFlags, withConfig bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if withConfig {
		fs.StringVar(&f.config, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/mailfs/config.toml)")
	}
	fs.BoolVar(&f.verbose, "v", false, "log debug detail")
	if name == "mount" {
		fs.Func("o", "comma-separated mount `OPTS`: ro, allow_other, default_permissions, config=FILE (may repeat)", f.opts.parse)
		fs.BoolVar(&f.daemon, "daemon", false, "run in the background; return once the mount answers")
		fs.StringVar(&f.logFile, "log-file", "", "with -daemon, the log `FILE` (default $XDG_STATE_HOME/mailfs/mailfs.log)")
	}
	return fs
}

// parseFlags parses a command's flags and returns its positional arguments,
// which must number exactly want. Flags may come before, between and
// after the positional arguments; "--" ends the flags.
func parseFlags(name string, args []string, stderr io.Writer, withConfig bool, want int) (commonFlags, []string, error) {
	var f commonFlags
	fs := commandFlags(name, &f, withConfig)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, nil, err
		}
		return f, nil, fmt.Errorf("%w: %s: %v", errUsage, name, unwrapUsage(err))
	}
	if len(pos) != want {
		switch want {
		case 1:
			return f, nil, fmt.Errorf("%w: %s needs exactly one MOUNTPOINT, got %q", errUsage, name, pos)
		case 2:
			return f, nil, fmt.Errorf("%w: %s needs SOURCE and MOUNTPOINT, got %q", errUsage, name, pos)
		}
		return f, nil, fmt.Errorf("%w: %s takes no arguments", errUsage, name)
	}
	return f, pos, nil
}

// unwrapUsage drops the errUsage prefix of an -o error the flag package
// wrapped, which parseFlags adds back once.
func unwrapUsage(err error) string {
	return strings.ReplaceAll(err.Error(), errUsage.Error()+": ", "")
}

// parseInterleaved parses the flags of fs found anywhere in args and
// returns the other arguments in order. The flag package stops at the
// first non-flag, so it parses again after each one.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isMountHelperCall reports whether args are those mount.fuse3 passes for
// an fstab line of type fuse.mailfs: SOURCE MOUNTPOINT [-o OPTS], where
// SOURCE is not a command.
func isMountHelperCall(args []string) bool {
	return len(args) >= 2 && !strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[1], "-")
}

// versionString is what 'mailfs version' prints: the module version and
// the VCS revision and commit date of the build.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "mailfs (unknown version: built without module support)"
	}
	return formatVersion(bi)
}

// formatVersion formats the build information as
// "mailfs (devel) rev abc1234 2026-12-01": the module version, then the
// first 7 hex digits of the revision (with "+dirty" when the tree had
// changes) and the date of the commit, when the build recorded them.
func formatVersion(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	out := "mailfs " + version
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		out += " rev " + rev[:min(len(rev), 7)]
		if dirty {
			out += "+dirty"
		}
	}
	if t, err := time.Parse(time.RFC3339, when); err == nil {
		out += " " + t.UTC().Format(time.DateOnly)
	}
	return out
}
