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

// newIMAPStore builds the IMAP client of one account from its config.
func newIMAPStore(a *config.Account, log *slog.Logger) (*imap.Store, error) {
	s := &a.IMAP.Server
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("account %q: imap: %w", a.Name, err)
	}
	mode := remote.TLSImplicit
	switch s.TLS {
	case config.TLSStartTLS:
		mode = remote.TLSStartTLS
	case config.TLSNone:
		mode = remote.TLSNone
	}
	return imap.New(&imap.Options{
		Account:   a.Name,
		Host:      s.Host,
		Port:      s.Port,
		TLS:       mode,
		TLSConfig: tlsConfig,
		Username:  s.Username,
		Password:  s.Secret,
		Auth:      s.Auth,
		Token:     s.TokenSecret,
		MaxConns:  a.IMAP.MaxConnections,
		Logger:    log,
	}), nil
}

// newPOP3Client builds the POP3 client of one account from its config.
func newPOP3Client(a *config.Account, log *slog.Logger) (*pop3.Client, error) {
	s := &a.POP3.Server
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("account %q: pop3: %w", a.Name, err)
	}
	mode := remote.TLSImplicit
	switch s.TLS {
	case config.TLSStartTLS:
		mode = remote.TLSStartTLS
	case config.TLSNone:
		mode = remote.TLSNone
	}
	return pop3.New(&pop3.Options{
		Account:   a.Name,
		Host:      s.Host,
		Port:      s.Port,
		TLS:       mode,
		TLSConfig: tlsConfig,
		Username:  s.Username,
		Password:  s.Secret,
		Auth:      s.Auth,
		Token:     s.TokenSecret,
		Logger:    log,
	}), nil
}

// newSMTPSender builds the SMTP sender of one account from its config.
func newSMTPSender(a *config.Account, log *slog.Logger) (*smtp.Sender, error) {
	s := &a.SMTP.Server
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("account %q: smtp: %w", a.Name, err)
	}
	mode := remote.TLSImplicit
	switch s.TLS {
	case config.TLSStartTLS:
		mode = remote.TLSStartTLS
	case config.TLSNone:
		mode = remote.TLSNone
	}
	return smtp.New(&smtp.Options{
		Account:   a.Name,
		Host:      s.Host,
		Port:      s.Port,
		TLS:       mode,
		TLSConfig: tlsConfig,
		Username:  s.Username,
		Password:  s.Secret,
		Auth:      s.Auth,
		Token:     s.TokenSecret,
		Logger:    log,
	}), nil
}
