// Command mailbench measures mailfs against what people use instead of it:
// syncing the account with mbsync (isync) and grepping the Maildir.
//
//	go run ./cmd/mailbench [-n 10000] [-rtt 50ms] [-ls 10000] [-smoke] [-mailfs PATH] [-keep]
//
// In one run it
//
//   - generates a deterministic corpus of -n messages (seeded PRNG): mostly
//     2–50 KB text or multipart/alternative bodies, about 2% with a base64
//     attachment of 1–5 MB, in five folders (INBOX 40%, Archive 30%, Sent
//     15%, Lists/dev 10%, Trash 5%), with the search word quokkafirmware
//     in a known ~5% of them;
//
//   - starts a private Dovecot on loopback (internal/interop) holding the
//     corpus for user "bench" and -ls small messages in the INBOX of user
//     "big", and a TCP proxy in front of its IMAP port adding -rtt of
//     round-trip time (remotetest.Proxy; -rtt 0 connects directly);
//
//   - builds mailfs (go build ./cmd/mailfs, unless -mailfs names a binary),
//     mounts both accounts through the proxy with tls = "none" and a fresh
//     cache, as a subprocess (mailfs mount), and measures:
//
//     (a) cold `grep -rl WORD MOUNT/bench` against an mbsync pull of the
//     same account through the same proxy into an empty Maildir plus
//     `grep -rl WORD` there (the two timed and summed); target ≤ 0.8;
//     (b) warm `grep -rl` through the mount against `grep -rl` on that
//     Maildir, the median of 3 each; target ≤ 2.5;
//     (c) cold and warm (median of 3) `ls -l` of the -ls-message folder;
//     target: warm ≤ 1 s;
//     (d) the peak RSS of the mailfs process (VmHWM in /proc/PID/status,
//     read just before unmounting); target ≤ 150 MB.
//
// It prints the figures side by side with their ratios and ok or MISS for
// each target. A missed target does not change the exit status; a wrong
// answer does: the number of files grep -l finds through the mount must
// equal the number found in the Maildir and the number of messages the
// corpus put the word into, and ls must list every message; otherwise
// mailbench exits 1 (2 for a usage error).
//
// -smoke is a quick run for CI: -n 200, -ls 500, -rtt 0 (flags given
// explicitly still win); it finishes in well under a minute and fails only
// on errors and wrong answers, never on a missed target.
//
// Needs root (or fusermount3 from fuse3) and /dev/fuse, Dovecot
// (dovecot-imapd), mbsync (isync) and the Go toolchain to build mailfs.
// On exit — normal, error, Ctrl-C or SIGTERM — mailfs is unmounted, and
// mailfs, Dovecot and the proxy are stopped; the work directory (corpus
// Maildir, cache, logs) is removed unless -keep is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usageText = `mailbench compares mailfs with mbsync + grep on a generated mailbox.

Usage:
  go run ./cmd/mailbench [-n 10000] [-rtt 50ms] [-ls 10000] [-smoke] [-mailfs PATH] [-keep]

It starts Dovecot on loopback with a generated corpus of -n messages behind a
proxy adding -rtt of round-trip time, mounts it with mailfs and prints, side
by side with ratios and targets:
  (a) cold grep -rl through the mount vs mbsync pull + grep -rl on the Maildir
  (b) warm grep -rl through the mount vs grep -rl on the Maildir (medians of 3)
  (c) cold and warm ls -l of a folder of -ls messages
  (d) peak RSS of mailfs
It exits 1 when an answer is wrong (grep or ls counts differ) or a step fails;
a missed speed target is reported, not an error.

Flags:
`

// errReported marks a command-line error the flag package has printed
// already, with the usage.
var errReported = errors.New("usage error")

// options are the command-line settings.
type options struct {
	n       int           // messages in the corpus
	ls      int           // messages in the ls folder
	rtt     time.Duration // added round-trip time; 0 = no proxy
	smoke   bool          // quick CI run
	mailfs  string        // mailfs binary; "" = build ./cmd/mailfs
	keep    bool          // keep the work directory
	verbose bool          // run mailfs with -v
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the benchmark and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "mailbench: %v\n", err)
		}
		return 2
	}
	b := &bench{opts: o, stdout: stdout, stderr: stderr}
	res, runErr := b.run(ctx)
	cleanupErr := b.cleanup()
	if runErr == nil && res != nil {
		res.print(stdout)
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		fmt.Fprintf(stderr, "mailbench: interrupted: %v\n", runErr)
		return 1
	case runErr != nil:
		fmt.Fprintf(stderr, "mailbench: %v\n", runErr)
		return 1
	case cleanupErr != nil:
		fmt.Fprintf(stderr, "mailbench: cleaning up: %v\n", cleanupErr)
		return 1
	case !res.correct():
		fmt.Fprintln(stderr, "mailbench: wrong answers (see check lines above)")
		return 1
	}
	return 0
}

// parseFlags reads the command line; -smoke sets the flags not given.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mailbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 10000, "messages in the corpus of the grep tests")
	fs.IntVar(&o.ls, "ls", 10000, "messages in the folder of the ls test")
	fs.DurationVar(&o.rtt, "rtt", 50*time.Millisecond, "round-trip time the proxy adds in front of Dovecot (0: no proxy)")
	fs.BoolVar(&o.smoke, "smoke", false, "quick run for CI: -n 200 -ls 500 -rtt 0 unless given; fails on errors only")
	fs.StringVar(&o.mailfs, "mailfs", "", "mailfs binary to measure (default: go build ./cmd/mailfs)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (corpus Maildir, cache, logs) and print its path")
	fs.BoolVar(&o.verbose, "v", false, "run mailfs with -v (debug log in the work directory; see -keep)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errReported, err) // flag printed it
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["n"] {
			o.n = 200
		}
		if !set["ls"] {
			o.ls = 500
		}
		if !set["rtt"] {
			o.rtt = 0
		}
	}
	switch {
	case o.n < 1:
		return o, fmt.Errorf("-n %d: want at least 1 message", o.n)
	case o.ls < 1:
		return o, fmt.Errorf("-ls %d: want at least 1 message", o.ls)
	case o.rtt < 0:
		return o, fmt.Errorf("-rtt %v: want 0 or more", o.rtt)
	}
	return o, nil
}
