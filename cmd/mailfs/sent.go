package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"mailfs/internal/config"
	"mailfs/remote"
)

// sentCopier stores copies of sent mail in an IMAP account's Sent folder:
// sent_folder from the config, else the folder with the special-use \Sent
// attribute, looked up once per process.
type sentCopier struct {
	account string
	store   interface {
		remote.Appender
		Mailboxes(ctx context.Context) ([]remote.Mailbox, error)
	}
	log *slog.Logger

	mu     sync.Mutex // guards folder and warned
	folder string     // "" until known
	warned bool       // the missing Sent folder was logged; reset when one is found
}

// newSentCopy returns the outbox's SentCopy function for an IMAP account,
// or nil when the account keeps no Sent copy.
func newSentCopy(a *config.Account, c *sentCopier) func(context.Context, io.Reader, int64) error {
	if a.IMAP == nil || a.IMAP.SentCopyDisabled() {
		return nil
	}
	c.folder = a.IMAP.SentFolder
	return c.copy
}

// copy appends msg, flagged \Seen, to the Sent folder.
func (c *sentCopier) copy(ctx context.Context, msg io.Reader, size int64) error {
	folder, err := c.sentFolder(ctx)
	if err != nil {
		return err
	}
	if folder == "" {
		if !c.warnOnce() {
			c.log.Debug("no Sent folder: the sent message is not copied", "account", c.account)
			return nil
		}
		c.log.Warn("no Sent folder (no \\Sent special-use folder, no sent_folder in the config): the sent message is not copied; set sent_folder, or \"-\" to silence this", "account", c.account)
		return nil
	}
	if _, err := c.store.Append(ctx, folder, []string{`\Seen`}, time.Now(), msg, size); err != nil {
		return fmt.Errorf("copy to %s/%s: %w", c.account, folder, err)
	}
	return nil
}

func (c *sentCopier) sentFolder(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folder != "" {
		return c.folder, nil
	}
	boxes, err := c.store.Mailboxes(ctx)
	if err != nil {
		return "", fmt.Errorf("find the Sent folder of %s: %w", c.account, err)
	}
	for _, mb := range boxes {
		if mb.HasAttr(`\Sent`) {
			c.folder = mb.Name
			c.warned = false
			break
		}
	}
	return c.folder, nil
}

// warnOnce reports whether the missing Sent folder is to be logged as a
// warning: the first time only, until a Sent folder is found.
func (c *sentCopier) warnOnce() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := !c.warned
	c.warned = true
	return first
}
