package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"mailfs/internal/config"
	"mailfs/remote"
)

// checkTimeout bounds the whole check of one account.
const checkTimeout = 60 * time.Second

// cmdCheck validates the config and logs in to every account, printing what
// each server offers. It fails when any account fails.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, _, err := parseFlags("check", args, stderr, true, 0)
	if err != nil {
		return err
	}
	log := newLogger(stderr, f.verbose)
	cfg, err := loadConfig(f.config, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok, %d account(s)\n", cfg.Path, len(cfg.Accounts))

	// The check prints every failure itself; the clients' own warnings
	// would repeat it. -v shows them, with the debug detail.
	clientLog := log
	if !f.verbose {
		clientLog = newQuietLogger(stderr)
	}
	failed := 0
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		actx, cancel := context.WithTimeout(ctx, checkTimeout)
		n := checkAccount(actx, a, stdout, clientLog)
		cancel()
		if n > 0 {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d account(s) failed the check", failed, len(cfg.Accounts))
	}
	return nil
}

// newQuietLogger logs errors only, for the clients of a check.
func newQuietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

// checkAccount checks every server of one account, also after one failed,
// printing each failure and "account NAME: ok" when none did. It returns
// the number of servers that failed.
func checkAccount(ctx context.Context, a *config.Account, w io.Writer, log *slog.Logger) int {
	failed := 0
	report := func(proto string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(w, "account %s: %s FAILED: %v\n", a.Name, proto, explain(err))
		}
	}
	switch {
	case a.IMAP != nil:
		report("imap", checkIMAP(ctx, a, w, log))
	case a.POP3 != nil:
		report("pop3", checkPOP3(ctx, a, w, log))
	}
	if a.SMTP != nil {
		report("smtp", checkSMTP(ctx, a, w, log))
	}
	if failed == 0 {
		fmt.Fprintf(w, "account %s: ok\n", a.Name)
	}
	return failed
}

// checkIMAP logs in to the account's IMAP server and prints its
// capabilities, folders and message counts.
func checkIMAP(ctx context.Context, a *config.Account, w io.Writer, log *slog.Logger) error {
	store, err := newIMAPStore(a, log, false)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(w, "account %s: imap %s (tls %s)\n", a.Name, a.IMAP.Addr(), a.IMAP.TLS)
	caps, err := store.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  capabilities: %s\n", strings.Join(caps, " "))
	boxes, err := store.Mailboxes(ctx)
	if err != nil {
		return err
	}
	for _, mb := range boxes {
		if !mb.Selectable() {
			fmt.Fprintf(w, "  %-30s (no messages: \\Noselect)\n", mb.Name)
			continue
		}
		st, err := store.Status(ctx, mb.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-30s %6d messages\n", mb.Name, st.Messages)
	}
	return nil
}

// checkPOP3 logs in to the account's POP3 server and prints its
// capabilities and the maildrop's size.
func checkPOP3(ctx context.Context, a *config.Account, w io.Writer, log *slog.Logger) error {
	client, err := newPOP3Client(a, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "account %s: pop3 %s (tls %s)\n", a.Name, a.POP3.Addr(), a.POP3.TLS)
	caps, count, size, err := client.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  capabilities: %s\n", strings.Join(caps, " "))
	fmt.Fprintf(w, "  %-30s %6d messages, %d bytes\n", "INBOX (on the server)", count, size)
	return nil
}

// checkSMTP logs in to the account's SMTP server and prints its
// extensions.
func checkSMTP(ctx context.Context, a *config.Account, w io.Writer, log *slog.Logger) error {
	sender, err := newSMTPSender(a, log)
	if err != nil {
		return err
	}
	defer sender.Close()
	fmt.Fprintf(w, "account %s: smtp %s (tls %s)\n", a.Name, a.SMTP.Addr(), a.SMTP.TLS)
	exts, err := sender.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  extensions: %s\n", strings.Join(exts, ", "))
	return nil
}

// explain adds what to do to the common failure kinds, unless the error
// already says it (remote.HintOf): an error carries one hint.
func explain(err error) error {
	if remote.HintOf(err) != "" {
		return err
	}
	switch {
	case errors.Is(err, remote.ErrAuth):
		return fmt.Errorf("%w (check username and password/password_command)", err)
	case errors.Is(err, remote.ErrUnavailable):
		return fmt.Errorf("%w (check host, port, tls and tls_ca_file, and that the server is reachable)", err)
	}
	return err
}
