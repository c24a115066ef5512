package imap

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"time"

	"mailfs/remote"
)

// Options configures a Store. Zero fields take the defaults documented on
// each field.
type Options struct {
	// Host is the server's host name or IP address.
	Host string
	// Port is the server's TCP port; 0 means 993 with remote.TLSImplicit and 143
	// otherwise.
	Port int
	// TLS selects implicit TLS (the default), STARTTLS or plain text.
	TLS remote.TLSMode
	// TLSConfig holds RootCAs and the like. ServerName defaults to Host; nil
	// means the system roots. Certificates are always verified.
	TLSConfig *tls.Config
	// Username is the login name.
	Username string
	// Password returns the password; it is called at each login. Its value
	// is never logged nor put into an error.
	Password func(ctx context.Context) (string, error)
	// Auth is the mechanism: "plain" (default: LOGIN, or AUTHENTICATE PLAIN
	// when the server disables LOGIN), "login", "xoauth2" or "oauthbearer".
	Auth string
	// Token returns the OAuth2 access token for xoauth2 and oauthbearer; it
	// is called at each login and never logged.
	Token func(ctx context.Context) (string, error)
	// MaxConns is the largest number of connections open at once; default 4.
	MaxConns int
	// DialTimeout bounds the TCP connect, the TLS handshake and the wait for
	// the greeting; default 15s.
	DialTimeout time.Duration
	// CommandTimeout is how long a command may go without a byte from the
	// server before the connection is closed; default 60s.
	CommandTimeout time.Duration
	// Logger receives one line per connect, disconnect and error, and debug
	// detail; nil discards. Secrets are never logged.
	Logger *slog.Logger
	// Account is the account's name, used in logs and errors.
	Account string
}

// Defaults.
const (
	defaultMaxConns       = 4
	defaultDialTimeout    = 15 * time.Second
	defaultCommandTimeout = 60 * time.Second
)

// withDefaults returns a copy of o with every default filled in.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Port == 0 {
		if out.TLS == remote.TLSImplicit {
			out.Port = 993
		} else {
			out.Port = 143
		}
	}
	out.Auth = strings.ToLower(strings.TrimSpace(out.Auth))
	if out.Auth == "" {
		out.Auth = "plain"
	}
	if out.MaxConns <= 0 {
		out.MaxConns = defaultMaxConns
	}
	if out.DialTimeout <= 0 {
		out.DialTimeout = defaultDialTimeout
	}
	if out.CommandTimeout <= 0 {
		out.CommandTimeout = defaultCommandTimeout
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Account == "" {
		out.Account = out.Username + "@" + out.Host
	}
	return out
}
