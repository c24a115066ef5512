package remote

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"time"
)

// Server says where a mail server is and how to log in to it. The protocol
// packages (remote/imap, remote/pop3, remote/smtp) embed it in their
// Options; each documents its default ports and timeouts, what its two
// timeouts cover and which Auth values it accepts.
type Server struct {
	// Account is the account's name, used in logs and errors.
	Account string
	// Host is the server's host name or IP address.
	Host string
	// Port is the server's TCP port; 0 means the protocol's default for
	// the TLS mode.
	Port int
	// TLS selects implicit TLS (the zero value, so the default), STARTTLS
	// or plain text.
	TLS TLSMode
	// TLSConfig holds RootCAs and the like, such as the pool read from
	// tls_ca_file; nil means the system roots. ServerName defaults to Host.
	TLSConfig *tls.Config
	// Username is the login name.
	Username string
	// Password returns the password for the password mechanisms; it is
	// called at each login, so a secret command may rotate it. Its value is
	// never logged nor put into an error.
	Password func(ctx context.Context) (string, error)
	// Auth is the login mechanism, such as "plain" or "xoauth2"; the
	// protocol's Options list the accepted values and the default.
	Auth string
	// Token returns the OAuth 2 access token for xoauth2 and oauthbearer;
	// it is called at each login and never logged.
	Token func(ctx context.Context) (string, error)
	// DialTimeout bounds connecting to the server; 0 means the protocol's
	// default.
	DialTimeout time.Duration
	// CommandTimeout bounds how long the server may keep a command waiting
	// before the connection is given up; 0 means the protocol's default.
	CommandTimeout time.Duration
	// Logger receives the client's log records; nil discards them. Secrets
	// are never logged.
	Logger *slog.Logger
}

// WithDefaults returns a copy of s with the defaults every protocol has
// filled in: a zero Port becomes defaultPort(s.TLS), a DialTimeout or
// CommandTimeout that is not positive becomes dial or command, and a nil
// Logger one that discards.
func (s Server) WithDefaults(defaultPort func(TLSMode) int, dial, command time.Duration) Server {
	if s.Port == 0 {
		s.Port = defaultPort(s.TLS)
	}
	if s.DialTimeout <= 0 {
		s.DialTimeout = dial
	}
	if s.CommandTimeout <= 0 {
		s.CommandTimeout = command
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// ImplicitPort returns a defaultPort for WithDefaults that gives implicit
// for TLSImplicit and plain for any other mode, for the protocols (IMAP,
// POP3) that speak STARTTLS on their plain-text port.
func ImplicitPort(implicit, plain int) func(TLSMode) int {
	return func(mode TLSMode) int {
		if mode == TLSImplicit {
			return implicit
		}
		return plain
	}
}

// WithLoginDefaults returns a copy of s with Auth trimmed and lower-cased,
// "plain" when empty, and an empty Account named Username@Host. The IMAP
// and POP3 clients apply it; the SMTP sender takes Auth and Account as
// given.
func (s Server) WithLoginDefaults() Server {
	s.Auth = strings.ToLower(strings.TrimSpace(s.Auth))
	if s.Auth == "" {
		s.Auth = "plain"
	}
	if s.Account == "" {
		s.Account = s.Username + "@" + s.Host
	}
	return s
}
