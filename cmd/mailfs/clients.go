package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"mailfs/internal/config"
	"mailfs/remote"
	"mailfs/remote/imap"
	"mailfs/remote/pop3"
	"mailfs/remote/smtp"
)

// serverTLS returns how to secure the connection to s, the server of
// account a for protocol proto ("imap", "pop3", "smtp"): the TLS mode and
// the TLS settings (the CA file read, if any).
func serverTLS(a *config.Account, proto string, s *config.Server) (remote.TLSMode, *tls.Config, error) {
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return 0, nil, fmt.Errorf("account %q: %s: %w", a.Name, proto, err)
	}
	switch s.TLS {
	case config.TLSStartTLS:
		return remote.TLSStartTLS, tlsConfig, nil
	case config.TLSNone:
		return remote.TLSNone, tlsConfig, nil
	}
	return remote.TLSImplicit, tlsConfig, nil
}

// newIMAPStore builds the IMAP client of one account from its config.
func newIMAPStore(a *config.Account, log *slog.Logger) (*imap.Store, error) {
	s := &a.IMAP.Server
	mode, tlsConfig, err := serverTLS(a, "imap", s)
	if err != nil {
		return nil, err
	}
	return imap.New(&imap.Options{
		Account: a.Name, Logger: log,
		Host: s.Host, Port: s.Port, TLS: mode, TLSConfig: tlsConfig,
		Username: s.Username, Auth: s.Auth, Password: s.Secret, Token: s.TokenSecret,
		MaxConns: a.IMAP.MaxConnections,
	}), nil
}

// newPOP3Client builds the POP3 client of one account from its config.
func newPOP3Client(a *config.Account, log *slog.Logger) (*pop3.Client, error) {
	s := &a.POP3.Server
	mode, tlsConfig, err := serverTLS(a, "pop3", s)
	if err != nil {
		return nil, err
	}
	return pop3.New(&pop3.Options{
		Account: a.Name, Logger: log,
		Host: s.Host, Port: s.Port, TLS: mode, TLSConfig: tlsConfig,
		Username: s.Username, Auth: s.Auth, Password: s.Secret, Token: s.TokenSecret,
	}), nil
}

// newSMTPSender builds the SMTP sender of one account from its config.
func newSMTPSender(a *config.Account, log *slog.Logger) (*smtp.Sender, error) {
	s := &a.SMTP.Server
	mode, tlsConfig, err := serverTLS(a, "smtp", s)
	if err != nil {
		return nil, err
	}
	return smtp.New(&smtp.Options{
		Account: a.Name, Logger: log,
		Host: s.Host, Port: s.Port, TLS: mode, TLSConfig: tlsConfig,
		Username: s.Username, Auth: s.Auth, Password: s.Secret, Token: s.TokenSecret,
	}), nil
}
