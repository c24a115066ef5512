package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mailfs/remote"
)

// Mailboxes returns the account's mailboxes. When the known list was
// checked less than maxAge ago it is returned without contacting the
// server; otherwise the server is asked. When the server is unreachable the
// known list is returned; with none known, the error.
func (a *Account) Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error) {
	known, err := a.knownMailboxes()
	if err != nil {
		return nil, err
	}
	if known != nil && a.c.now().Sub(known.Checked) < maxAge {
		return slices.Clone(known.Mailboxes), nil
	}
	if down, cause := a.down(); down {
		if known != nil {
			return slices.Clone(known.Mailboxes), nil
		}
		return nil, fmt.Errorf("list mailboxes of %s: %w", a.name, cause)
	}
	list, err := a.lists.do(ctx, struct{}{}, a.syncMailboxes)
	if err != nil {
		if errors.Is(err, remote.ErrUnavailable) {
			if known, _ := a.knownMailboxes(); known != nil {
				return slices.Clone(known.Mailboxes), nil
			}
		}
		return nil, err
	}
	return slices.Clone(list), nil
}

// knownMailboxes returns the stored mailbox list, nil when none is.
func (a *Account) knownMailboxes() (*mailboxList, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.mlistLoaded {
		l, err := a.c.loadMailboxes(a.name)
		if err != nil {
			return nil, err
		}
		a.mlist, a.mlistLoaded = l, true
	}
	return a.mlist, nil
}

// syncMailboxes asks the server for the mailbox list, stores it and drops
// the cache of mailboxes that no longer exist.
func (a *Account) syncMailboxes(ctx context.Context) ([]remote.Mailbox, error) {
	a.listMu.Lock() // a folder change publishes after the server's answer
	defer a.listMu.Unlock()
	mbs, err := a.store.Mailboxes(ctx)
	if err != nil {
		a.noteErr("", err)
		return nil, fmt.Errorf("list mailboxes of %s: %w", a.name, err)
	}
	a.noteOK()
	l := mailboxList{Mailboxes: mbs, Checked: a.c.now()}
	if err := a.c.saveMailboxes(a.name, l); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.mlist, a.mlistLoaded = &l, true
	a.mu.Unlock()

	stored, err := a.c.storedFolders(a.name)
	if err != nil {
		a.c.log.Warn("cannot read cached mailboxes", "account", a.name, "err", err)
		return mbs, nil
	}
	for _, name := range stored {
		if !slices.ContainsFunc(mbs, func(m remote.Mailbox) bool { return m.Name == name }) {
			a.c.log.Info("mailbox gone from server; dropping its cache", "account", a.name, "mailbox", name)
			a.dropMailbox(name)
		}
	}
	return mbs, nil
}

// dropMailbox forgets everything cached for a mailbox.
func (a *Account) dropMailbox(name string) {
	m := a.entry(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := a.c.dropFolder(a.name, name); err != nil {
		a.c.log.Warn("cannot drop cached mailbox", "account", a.name, "mailbox", name, "err", err)
	}
	a.c.removeBodies(a.c.mailboxDir(a.name, name))
	m.snap.Store(&snapshot{})
	m.loaded, m.savedCheck = true, time.Time{}
	clear(m.fixes)
	m.hasFixes.Store(false)
}
