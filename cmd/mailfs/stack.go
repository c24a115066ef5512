package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"

	"mailfs/cache"
	"mailfs/cache/pop3store"
	"mailfs/fs"
	"mailfs/internal/config"
	"mailfs/internal/statedir"
	"mailfs/outbox"
)

// dirs are where a mount keeps its state.
type dirs struct {
	// cache holds the IMAP cache (evictable).
	cache string
	// data holds the POP3 stores and the outbox spool (the user's mail).
	data string
}

// configDirs returns the directories the config names, or the XDG defaults.
func configDirs(cfg *config.Config) (dirs, error) {
	c, err := config.CacheDir(cfg)
	if err != nil {
		return dirs{}, err
	}
	d, err := config.DataDir()
	if err != nil {
		return dirs{}, err
	}
	return dirs{cache: c, data: d}, nil
}

// stack is everything a mount serves: one fs.Account per configured
// account, the outbox, and the background work that keeps them current.
type stack struct {
	accounts []fs.Account
	outbox   *outbox.Outbox              // nil when no account can send
	run      []func(ctx context.Context) // background loops, stopped by ctx
	closers  []func() error              // run in reverse order by close
	// newMail is the new_mail_command of each account that has one.
	newMail map[string]string
	// searches keeps the saved searches.
	searches *searchFile
}

// buildStack opens the cache, the POP3 stores and the outbox and makes the
// protocol clients of every account in cfg. On error, what was opened is
// closed again.
func buildStack(cfg *config.Config, d dirs, log *slog.Logger) (_ *stack, err error) {
	st := &stack{newMail: map[string]string{}}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if err := statedir.Private(d.data, "data directory", log); err != nil {
		return nil, err
	}
	st.searches = &searchFile{path: filepath.Join(d.data, "searches.json")}
	c, err := cache.Open(d.cache, &cache.Options{Logger: log, MaxSize: cfg.Cache.MaxSize})
	if err != nil {
		return nil, err
	}
	st.closers = append(st.closers, c.Close)

	var senders []outbox.Account
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		var appender *sentCopier
		switch {
		case a.IMAP != nil:
			store, err := newIMAPStore(a, log, true)
			if err != nil {
				return nil, err
			}
			st.closers = append(st.closers, store.Close)
			src := c.Account(a.Name, store, &cache.AccountOptions{
				Expunge:     a.IMAP.Delete == config.DeleteExpunge,
				TrashFolder: a.IMAP.TrashFolder,
				MaxDeletes:  a.IMAP.MaxDeletes,
			})
			st.accounts = append(st.accounts, fs.Account{Name: a.Name, Source: src})
			watch := &cache.WatchOptions{IdleFolders: a.IMAP.IdleFolders, PollInterval: a.IMAP.PollInterval}
			st.run = append(st.run, func(ctx context.Context) { src.Run(ctx, watch) })
			if a.IMAP.NewMailCommand != "" {
				st.newMail[a.Name] = a.IMAP.NewMailCommand
			}
			appender = &sentCopier{account: a.Name, store: store, log: log}
		case a.POP3 != nil:
			client, err := newPOP3Client(a, log)
			if err != nil {
				return nil, err
			}
			ps, err := pop3store.Open(&pop3store.Options{
				Dir:           filepath.Join(d.data, "pop3", a.Name),
				Account:       a.Name,
				Downloader:    client,
				LeaveOnServer: a.POP3.LeaveOnServer,
				PollInterval:  a.POP3.PollInterval,
				Logger:        log,
			})
			if err != nil {
				return nil, err
			}
			st.closers = append(st.closers, ps.Close)
			st.run = append(st.run, func(ctx context.Context) { ps.Run(ctx) })
			st.accounts = append(st.accounts, fs.Account{Name: a.Name, Source: ps})
		}
		if a.SMTP != nil {
			sender, err := newSMTPSender(a, log)
			if err != nil {
				return nil, err
			}
			st.closers = append(st.closers, sender.Close)
			oa := outbox.Account{Name: a.Name, Addresses: a.Addresses, Default: a.Default, Sender: sender}
			if appender != nil {
				oa.SentCopy = newSentCopy(a, appender)
			}
			senders = append(senders, oa)
		}
	}
	if len(senders) > 0 {
		ob, err := outbox.Open(&outbox.Options{
			Dir: filepath.Join(d.data, "outbox"), Accounts: senders, Logger: log,
			AllowUnknownFrom: cfg.Outbox.AllowUnknownFrom, AllowReceived: cfg.Outbox.AllowReceived,
			SendDelay: cfg.Outbox.SendDelay,
		})
		if err != nil {
			return nil, err
		}
		st.outbox = ob
		st.closers = append(st.closers, ob.Close)
		st.run = append(st.run, func(ctx context.Context) { ob.Run(ctx) })
	} else {
		log.Info("no account has [accounts.smtp]: the mount has no outbox/")
	}
	return st, nil
}

// start runs the background loops until ctx is cancelled; the returned
// function waits for them to stop.
func (st *stack) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	for _, run := range st.run {
		wg.Go(func() { run(ctx) })
	}
	return wg.Wait
}

// close closes everything buildStack opened, newest first.
func (st *stack) close() {
	for _, c := range slices.Backward(st.closers) {
		c()
	}
	st.closers = nil
}
