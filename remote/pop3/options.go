package pop3

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"time"

	"mailfs/remote"
)

// Options configures a Client. Nil options are not useful: Host, Username
// and Password (or Token) are needed to log in.
type Options struct {
	// Account is the account's name, used in logs and errors.
	Account string
	// Host is the server's host name or IP address.
	Host string
	// Port is the server's TCP port; 0 means 995 with remote.TLSImplicit and 110
	// otherwise.
	Port int
	// TLS selects implicit TLS (the default), STLS or plain text.
	TLS remote.TLSMode
	// TLSConfig holds RootCAs and the like. ServerName defaults to Host; nil
	// means the system roots. Certificates are always verified.
	TLSConfig *tls.Config
	// Username is the login name.
	Username string
	// Password returns the password; it is called at each login. Its value
	// is never logged nor put into an error.
	Password func(ctx context.Context) (string, error)
	// Auth is the mechanism: "plain" (default: SASL PLAIN when CAPA offers
	// it, USER/PASS otherwise), "xoauth2" or "oauthbearer".
	Auth string
	// Token returns the OAuth2 access token for xoauth2 and oauthbearer; it
	// is called at each login and never logged.
	Token func(ctx context.Context) (string, error)
	// DialTimeout bounds the TCP connect and the TLS handshake; default 15s.
	DialTimeout time.Duration
	// CommandTimeout is how long the server may stay silent during a
	// command (the greeting and STLS included) before the connection is
	// closed; default 60s. A long transfer that keeps moving never times out.
	CommandTimeout time.Duration
	// Logger receives one line per connect, disconnect and error; nil
	// discards. Secrets are never logged.
	Logger *slog.Logger
}

// Defaults.
const (
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
			out.Port = 995
		} else {
			out.Port = 110
		}
	}
	out.Auth = strings.ToLower(strings.TrimSpace(out.Auth))
	if out.Auth == "" {
		out.Auth = "plain"
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
