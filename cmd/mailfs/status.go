package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// cmdStatus prints the state of a running mount: `mailfs status [-json]
// [MOUNTPOINT]`.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON (for scripts)")
	mountpoint, err := parseControlArgs(fs, args)
	if err != nil {
		return err
	}
	resp, err := request(ctx, mountpoint, &controlRequest{Op: opStatus})
	if err != nil {
		return err
	}
	if resp.Status == nil {
		return errors.New("the running mailfs sent no status")
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp.Status)
	}
	printStatus(stdout, resp.Status, time.Now())
	return nil
}

// cmdOutbox runs `mailfs outbox retry [MOUNTPOINT]`: the running mount
// sends every waiting message now.
func cmdOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "retry" {
		return fmt.Errorf("%w: outbox needs a subcommand: retry", errUsage)
	}
	fs := flag.NewFlagSet("outbox retry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mountpoint, err := parseControlArgs(fs, args[1:])
	if err != nil {
		return err
	}
	resp, err := request(ctx, mountpoint, &controlRequest{Op: opRetry})
	if err != nil {
		return err
	}
	switch resp.Count {
	case 0:
		fmt.Fprintln(stdout, "no message is waiting")
	case 1:
		fmt.Fprintln(stdout, "sending 1 waiting message now")
	default:
		fmt.Fprintf(stdout, "sending %d waiting messages now\n", resp.Count)
	}
	return nil
}

// parseControlArgs parses the flags of a command that talks to a running
// mount and returns its optional MOUNTPOINT.
func parseControlArgs(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	switch fs.NArg() {
	case 0:
		return "", nil
	case 1:
		return fs.Arg(0), nil
	}
	return "", fmt.Errorf("%w: %s takes at most one MOUNTPOINT", errUsage, fs.Name())
}

// request sends req to the mailfs serving mountpoint ("" = the only one
// running) and returns its answer; a refusal is an error.
func request(ctx context.Context, mountpoint string, req *controlRequest) (*controlResponse, error) {
	path, err := findDaemon(ctx, mountpoint)
	if err != nil {
		return nil, err
	}
	resp, err := ask(ctx, path, req, nil)
	if errors.Is(err, errNotRunning) && mountpoint != "" {
		return nil, fmt.Errorf("%w for %s", errNotRunning, mountpoint)
	}
	if err != nil {
		return nil, err
	}
	if !resp.OK {
		return nil, errors.New(resp.Error)
	}
	return resp, nil
}

// printStatus writes ds as tables for a person.
func printStatus(w io.Writer, ds *daemonStatus, now time.Time) {
	fmt.Fprintf(w, "mailfs on %s (pid %d)\n\n", ds.Mountpoint, ds.PID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tKIND\tSTATE\tLAST CONTACT\tLAST SYNC\tLAST ERROR")
	for _, a := range ds.Accounts {
		state := a.State
		if a.State == "offline" && !a.OfflineSince.IsZero() {
			state += " since " + ago(a.OfflineSince, now)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, orDash(a.Kind), state,
			ago(a.LastContact, now), ago(a.LastSync, now), orDash(a.LastError))
	}
	tw.Flush()
	if ds.Cache != nil {
		limit := "unlimited"
		if ds.Cache.Max > 0 {
			limit = "max " + byteSize(ds.Cache.Max)
			limit += fmt.Sprintf(", %d%%", ds.Cache.Used*100/ds.Cache.Max)
		}
		fmt.Fprintf(w, "\nIMAP cache: %s (%s)\n", byteSize(ds.Cache.Used), limit)
	}
	ob := ds.Outbox
	if ob == nil {
		fmt.Fprintln(w, "\noutbox: none (no account has [accounts.smtp])")
		return
	}
	fmt.Fprintf(w, "\noutbox: %d held, %d waiting, %d failed\n", len(ob.Held), len(ob.Waiting), len(ob.Failed))
	if len(ob.Held) > 0 {
		fmt.Fprintln(w, "\nHELD (sent after the send delay; rm cancels)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tGOES")
		for _, m := range ob.Held {
			fmt.Fprintf(tw, "%s\t%s\n", m.Name, until(m.NextAttempt, now))
		}
		tw.Flush()
	}
	if len(ob.Waiting) > 0 {
		fmt.Fprintln(w, "\nWAITING (mailfs outbox retry sends them now)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tACCOUNT\tATTEMPTS\tNEXT TRY\tLAST ERROR")
		for _, m := range ob.Waiting {
			next := until(m.NextAttempt, now)
			if m.State == "sending" {
				next = "sending now"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", m.Name, orDash(m.Account), m.Attempts, next, orDash(m.LastError))
		}
		tw.Flush()
	}
	if len(ob.Failed) > 0 {
		fmt.Fprintln(w, "\nFAILED (mv outbox/failed/NAME outbox/ to try again)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tREASON")
		for _, m := range ob.Failed {
			fmt.Fprintf(tw, "%s\t%s\n", m.Name, m.Error)
		}
		tw.Flush()
	}
}

// ago formats a past time for the table: "never", or how long ago with
// the time of day.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s ago (%s)", roundDuration(now.Sub(t)), t.Local().Format("15:04:05"))
}

// until formats a coming time for the table.
func until(t, now time.Time) string {
	if t.IsZero() || !t.After(now) {
		return "now"
	}
	return fmt.Sprintf("in %s (%s)", roundDuration(t.Sub(now)), t.Local().Format("15:04:05"))
}

// roundDuration shortens d for a person: seconds under a minute, whole
// minutes ("5m", "2h3m") beyond.
func roundDuration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// byteSize formats n bytes as KB, MB or GB (powers of 1024).
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGT"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
