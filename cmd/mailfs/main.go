// Command mailfs mounts mail accounts as a filesystem: IMAP folders become
// directories of .eml files.
//
//	mailfs mount [-config FILE] [-v] MOUNTPOINT
//	mailfs check [-config FILE] [-v]
//	mailfs demo  [-v] MOUNTPOINT
//
// main wires everything: the configuration, logging, the remote stores, the
// cache and the filesystem, and the signals that end a mount.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

const usage = `mailfs mounts mail accounts as a drive.

Usage:
  mailfs mount [-config FILE] [-v] MOUNTPOINT   mount every configured account
  mailfs check [-config FILE] [-v]              validate the config and log in to every server
  mailfs demo  [-v] MOUNTPOINT                  mount built-in sample accounts (no config needed)

The config is read from $XDG_CONFIG_HOME/mailfs/config.toml unless -config is
given. A mount runs until interrupted (Ctrl-C, SIGTERM) or unmounted with
'fusermount3 -u MOUNTPOINT'.
`

// errUsage marks a command-line mistake: the usage text is printed with it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("MAILFS_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
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
	var err error
	switch args[0] {
	case "mount":
		err = cmdMount(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "mailfs: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "mailfs: %v\n", err)
		return 1
	}
}

// commonFlags are the flags every command takes.
type commonFlags struct {
	config  string
	verbose bool
}

// parseFlags parses a command's flags and returns its positional arguments,
// which must number exactly want.
func parseFlags(name string, args []string, stderr io.Writer, withConfig bool, want int) (commonFlags, []string, error) {
	var f commonFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if withConfig {
		fs.StringVar(&f.config, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/mailfs/config.toml)")
	}
	fs.BoolVar(&f.verbose, "v", false, "log debug detail")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, nil, err
		}
		return f, nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
	}
	if fs.NArg() != want {
		if want == 1 {
			return f, nil, fmt.Errorf("%w: %s needs exactly one MOUNTPOINT", errUsage, name)
		}
		return f, nil, fmt.Errorf("%w: %s takes no arguments", errUsage, name)
	}
	return f, fs.Args(), nil
}
