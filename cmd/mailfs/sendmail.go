package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes of mailfs sendmail, from sysexits.h, as mail programs expect
// them from sendmail.
const (
	exOK       = 0
	exUsage    = 64 // a command-line mistake
	exDataErr  = 65 // the message is invalid: the outbox's reason is printed
	exTempFail = 75 // no mailfs is running, or it could not store the message
	exConfig   = 78 // the mount has no outbox, or several run and none is chosen
)

// sendmailUsage is printed with a command-line mistake.
const sendmailUsage = `usage: mailfs sendmail [-t] [-f FROM] [-i] [-oi] [--] [RECIPIENT...]
reads a message on stdin and queues it in the outbox of the running mailfs
(the one named by $MAILFS_MOUNTPOINT when several run).
  -t        take the recipients from To, Cc and Bcc (and the RECIPIENTs)
  -f FROM   envelope sender: an address of the account that sends it
  -i, -oi   accepted; a line with a single dot is not special anyway
`

// sendmailArgs is a parsed sendmail command line.
type sendmailArgs struct {
	extract    bool
	from       string
	recipients []string
}

// parseSendmailArgs parses sendmail's options: -t, -f FROM (-fFROM, -r),
// -i and -oi; the options mail programs pass and mailfs has no use for
// are accepted and ignored (-F NAME, -B TYPE, -N DSN, -R RET, -V ENVID,
// -o*, -v, -em, -bm).
func parseSendmailArgs(args []string) (*sendmailArgs, error) {
	a := &sendmailArgs{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.recipients = append(a.recipients, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.recipients = append(a.recipients, arg)
			continue
		}
		// value returns the option's value: the rest of arg, or the next
		// argument.
		value := func() (string, error) {
			if len(arg) > 2 {
				return arg[2:], nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", arg)
			}
			i++
			return args[i], nil
		}
		switch {
		case arg == "-t":
			a.extract = true
		case arg == "-i", arg == "-v", arg == "-bm", arg == "-em", strings.HasPrefix(arg, "-o"):
		case strings.HasPrefix(arg, "-f"), strings.HasPrefix(arg, "-r"):
			v, err := value()
			if err != nil {
				return nil, err
			}
			a.from = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
		case strings.HasPrefix(arg, "-F"), strings.HasPrefix(arg, "-B"), strings.HasPrefix(arg, "-N"),
			strings.HasPrefix(arg, "-R"), strings.HasPrefix(arg, "-V"):
			if _, err := value(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown option %s", arg)
		}
	}
	if !a.extract && len(a.recipients) == 0 {
		return nil, errors.New("no recipients: give them as arguments, or use -t to take them from To, Cc and Bcc")
	}
	return a, nil
}

// cmdSendmail runs `mailfs sendmail`: it reads a message on stdin and
// hands it to the running mailfs, which checks it by the outbox's rules and
// queues it durably before it answers. It returns the exit status.
func cmdSendmail(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "mailfs sendmail: "+format+"\n", a...)
		return code
	}
	sa, err := parseSendmailArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "mailfs sendmail: %v\n%s", err, sendmailUsage)
		return exUsage
	}
	path, err := findDaemon(ctx, os.Getenv("MAILFS_MOUNTPOINT"))
	switch {
	case errors.Is(err, errNotRunning):
		return fail(exTempFail, "no mailfs is running: start `mailfs mount` first")
	case errors.Is(err, errSeveral):
		return fail(exConfig, "%v (set MAILFS_MOUNTPOINT)", err)
	case err != nil:
		return fail(exTempFail, "%v", err)
	}
	// The whole message first: a mail program that dies midway must not
	// leave half a message queued.
	msg, err := io.ReadAll(stdin)
	if err != nil {
		return fail(exTempFail, "read the message: %v", err)
	}
	req := &controlRequest{Op: opSubmit, Size: int64(len(msg)), From: sa.from, Recipients: sa.recipients, Extract: sa.extract}
	resp, err := ask(ctx, path, req, bytes.NewReader(msg))
	switch {
	case errors.Is(err, errNotRunning):
		return fail(exTempFail, "no mailfs is running: start `mailfs mount` first")
	case err != nil:
		return fail(exTempFail, "%v", err)
	case resp.OK:
		return exOK
	case resp.Invalid:
		return fail(exDataErr, "%s", resp.Error)
	case strings.Contains(resp.Error, "no outbox"):
		return fail(exConfig, "%s", resp.Error)
	}
	return fail(exTempFail, "the message was not queued: %s", resp.Error)
}
