package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"mailfs/remote"
)

// CreateMailbox creates mailbox name on the server (CREATE) and adds it to
// the account's mailbox list.
func (a *Account) CreateMailbox(ctx context.Context, name string) error {
	op := fmt.Sprintf("create mailbox %s/%s", a.name, name)
	ed, err := a.editor(op)
	if err != nil {
		return err
	}
	a.listMu.Lock()
	defer a.listMu.Unlock()
	err = ed.CreateMailbox(ctx, name)
	a.served("", err)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// A mailbox of that name that existed before is another mailbox.
	a.dropMailbox(name)
	return a.editMailboxes(func(mbs []remote.Mailbox) []remote.Mailbox {
		if slices.ContainsFunc(mbs, func(m remote.Mailbox) bool { return m.Name == name }) {
			return mbs
		}
		return append(mbs, remote.Mailbox{Name: name, Delim: delimiter(mbs)})
	})
}

// DeleteMailbox deletes mailbox name on the server (DELETE). INBOX cannot
// be deleted (EPERM); a mailbox that holds messages on the server (asked
// right before) or has child mailboxes is not deleted (ENOTEMPTY), since
// IMAP's DELETE would delete its messages with it.
func (a *Account) DeleteMailbox(ctx context.Context, name string) error {
	op := fmt.Sprintf("delete mailbox %s/%s", a.name, name)
	if isInbox(name) {
		return fmt.Errorf("%s: INBOX cannot be deleted: %w", op, syscall.EPERM)
	}
	ed, err := a.editor(op)
	if err != nil {
		return err
	}
	// The server's own list, not the cached one: a child created elsewhere
	// must stop the DELETE (Dovecot deletes a parent and keeps its
	// children).
	if _, err := a.Mailboxes(ctx, 0); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	a.listMu.Lock()
	defer a.listMu.Unlock()
	known, err := a.knownMailboxes()
	if err != nil {
		return err
	}
	var mb *remote.Mailbox
	if known != nil {
		for i, m := range known.Mailboxes {
			if m.Delim != 0 && strings.HasPrefix(m.Name, name+string(m.Delim)) {
				return fmt.Errorf("%s: it has the mailbox %s under it: %w", op, m.Name, syscall.ENOTEMPTY)
			}
			if m.Name == name {
				mb = &known.Mailboxes[i]
			}
		}
	}
	if mb == nil || mb.Selectable() {
		st, err := a.store.Status(ctx, name)
		a.served(name, err)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if st.Messages > 0 {
			return fmt.Errorf("%s: it holds %d messages on the server: %w", op, st.Messages, syscall.ENOTEMPTY)
		}
	}
	err = ed.DeleteMailbox(ctx, name)
	a.served(name, err)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	a.dropMailbox(name)
	return a.editMailboxes(func(mbs []remote.Mailbox) []remote.Mailbox {
		return slices.DeleteFunc(mbs, func(m remote.Mailbox) bool { return m.Name == name })
	})
}

// RenameMailbox renames mailbox oldName, and every mailbox under it, to
// newName on the server (RENAME). INBOX can be neither source nor target
// (EPERM: renaming INBOX moves its messages and leaves it empty). The
// cache of the old names is dropped; the new ones are listed afresh.
func (a *Account) RenameMailbox(ctx context.Context, oldName, newName string) error {
	op := fmt.Sprintf("rename mailbox %s/%s to %s", a.name, oldName, newName)
	if isInbox(oldName) || isInbox(newName) {
		return fmt.Errorf("%s: INBOX cannot be renamed or replaced: %w", op, syscall.EPERM)
	}
	ed, err := a.editor(op)
	if err != nil {
		return err
	}
	a.listMu.Lock()
	defer a.listMu.Unlock()
	err = ed.RenameMailbox(ctx, oldName, newName)
	a.served(oldName, err)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return a.editMailboxes(func(mbs []remote.Mailbox) []remote.Mailbox {
		// What the list still has under the new name is gone from the
		// server (the RENAME succeeded).
		mbs = slices.DeleteFunc(mbs, func(m remote.Mailbox) bool { return under(m, newName) })
		for i, m := range mbs {
			rest, under := strings.CutPrefix(m.Name, oldName)
			if !under || (rest != "" && (m.Delim == 0 || !strings.HasPrefix(rest, string(m.Delim)))) {
				continue
			}
			a.dropMailbox(m.Name)
			a.dropMailbox(newName + rest)
			mbs[i].Name = newName + rest
		}
		return mbs
	})
}

// under reports whether m is mailbox name or one below it.
func under(m remote.Mailbox, name string) bool {
	return m.Name == name || (m.Delim != 0 && strings.HasPrefix(m.Name, name+string(m.Delim)))
}

// editMailboxes stores and publishes the mailbox list edit returns from a
// copy of the known one, after a change the server made. a.listMu is
// held. Without a known list there is nothing to edit: the next
// Mailboxes asks the server.
func (a *Account) editMailboxes(edit func([]remote.Mailbox) []remote.Mailbox) error {
	known, err := a.knownMailboxes()
	if err != nil || known == nil {
		return err
	}
	l := mailboxList{Mailboxes: edit(slices.Clone(known.Mailboxes)), Checked: known.Checked}
	if err := a.c.saveMailboxes(a.name, l); err != nil {
		a.c.log.Warn("cannot record a mailbox change in the cache; asking the server next time", "account", a.name, "err", err)
		l.Checked = l.Checked.AddDate(-1, 0, 0)
	}
	a.mu.Lock()
	a.mlist, a.mlistLoaded = &l, true
	a.mu.Unlock()
	return nil
}

// delimiter returns the hierarchy delimiter the account's mailboxes use.
func delimiter(mbs []remote.Mailbox) rune {
	for _, m := range mbs {
		if m.Delim != 0 {
			return m.Delim
		}
	}
	return 0
}
