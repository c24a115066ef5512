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

	failed := 0
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		actx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := checkAccount(actx, a, stdout, log)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "account %s: FAILED: %v\n", a.Name, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d account(s) failed the check", failed, len(cfg.Accounts))
	}
	return nil
}

// checkAccount logs in to one account and prints its capabilities, folders
// and message counts.
func checkAccount(ctx context.Context, a *config.Account, w io.Writer, log *slog.Logger) error {
	switch {
	case a.IMAP != nil:
		store, err := newIMAPStore(a, log, false)
		if err != nil {
			return err
		}
		defer store.Close()
		fmt.Fprintf(w, "account %s: imap %s (tls %s)\n", a.Name, a.IMAP.Addr(), a.IMAP.TLS)
		caps, err := store.Check(ctx)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(w, "  capabilities: %s\n", strings.Join(caps, " "))
		boxes, err := store.Mailboxes(ctx)
		if err != nil {
			return explain(err)
		}
		for _, mb := range boxes {
			if !mb.Selectable() {
				fmt.Fprintf(w, "  %-30s (no messages: \\Noselect)\n", mb.Name)
				continue
			}
			st, err := store.Status(ctx, mb.Name)
			if err != nil {
				return explain(err)
			}
			fmt.Fprintf(w, "  %-30s %6d messages\n", mb.Name, st.Messages)
		}
	case a.POP3 != nil:
		client, err := newPOP3Client(a, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "account %s: pop3 %s (tls %s)\n", a.Name, a.POP3.Addr(), a.POP3.TLS)
		caps, count, size, err := client.Check(ctx)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(w, "  capabilities: %s\n", strings.Join(caps, " "))
		fmt.Fprintf(w, "  %-30s %6d messages, %d bytes\n", "INBOX (on the server)", count, size)
	}
	if a.SMTP != nil {
		sender, err := newSMTPSender(a, log)
		if err != nil {
			return err
		}
		defer sender.Close()
		fmt.Fprintf(w, "account %s: smtp %s (tls %s)\n", a.Name, a.SMTP.Addr(), a.SMTP.TLS)
		exts, err := sender.Check(ctx)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(w, "  extensions: %s\n", strings.Join(exts, ", "))
	}
	fmt.Fprintf(w, "account %s: ok\n", a.Name)
	return nil
}

// explain adds what to do to the common failure kinds.
func explain(err error) error {
	switch {
	case errors.Is(err, remote.ErrAuth):
		return fmt.Errorf("%w (check username and password/password_command)", err)
	case errors.Is(err, remote.ErrUnavailable):
		return fmt.Errorf("%w (check host, port, tls and tls_ca_file, and that the server is reachable)", err)
	}
	return err
}
