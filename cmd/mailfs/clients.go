package main

import (
	"fmt"
	"log/slog"

	"mailfs/internal/config"
	"mailfs/remote"
	"mailfs/remote/imap"
	"mailfs/remote/pop3"
	"mailfs/remote/smtp"
)

// remoteServer builds the remote.Server of account a for protocol proto
// ("imap", "pop3", "smtp") from s, its server in the config: address,
// TLS mode and settings (the CA file read, if any), login and secrets.
func remoteServer(a *config.Account, proto string, s *config.Server, log *slog.Logger) (remote.Server, error) {
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return remote.Server{}, fmt.Errorf("account %q: %s: %w", a.Name, proto, err)
	}
	mode := remote.TLSImplicit
	switch s.TLS {
	case config.TLSStartTLS:
		mode = remote.TLSStartTLS
	case config.TLSNone:
		mode = remote.TLSNone
	}
	return remote.Server{
		Account: a.Name, Logger: log,
		Host: s.Host, Port: s.Port, TLS: mode, TLSConfig: tlsConfig,
		Username: s.Username, Auth: s.Auth, Password: s.Secret, Token: s.TokenSecret,
	}, nil
}

// newIMAPStore builds the IMAP client of one account from its config; a
// mount's (mount set) keeps a spare connection (see imap.Options.Spare) and
// leaves one connection of max_connections to each IDLE watch (which
// dials its own, outside the pool), check's not.
func newIMAPStore(a *config.Account, log *slog.Logger, mount bool) (*imap.Store, error) {
	srv, err := remoteServer(a, "imap", &a.IMAP.Server, log)
	if err != nil {
		return nil, err
	}
	conns := a.IMAP.MaxConnections
	if mount {
		conns -= len(a.IMAP.IdleFolders) // config validation keeps one at least
	}
	return imap.New(&imap.Options{Server: srv, MaxConns: conns, Spare: mount}), nil
}

// newPOP3Client builds the POP3 client of one account from its config.
func newPOP3Client(a *config.Account, log *slog.Logger) (*pop3.Client, error) {
	srv, err := remoteServer(a, "pop3", &a.POP3.Server, log)
	if err != nil {
		return nil, err
	}
	return pop3.New(&pop3.Options{Server: srv}), nil
}

// newSMTPSender builds the SMTP sender of one account from its config.
func newSMTPSender(a *config.Account, log *slog.Logger) (*smtp.Sender, error) {
	srv, err := remoteServer(a, "smtp", &a.SMTP.Server, log)
	if err != nil {
		return nil, err
	}
	return smtp.New(&smtp.Options{Server: srv}), nil
}
