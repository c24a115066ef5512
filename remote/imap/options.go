package imap

import (
	"time"

	"mailfs/remote"
)

// Options configures a Store. Zero fields take these defaults:
//
//   - Port: 993 with remote.TLSImplicit, 143 otherwise (STARTTLS or plain
//     text).
//   - Auth: "plain" (LOGIN, or AUTHENTICATE PLAIN when the server disables
//     LOGIN); the others are "login", "xoauth2" and "oauthbearer".
//   - DialTimeout: 15s, for the TCP connect, the TLS handshake and the
//     wait for the greeting.
//   - CommandTimeout: 60s, how long a command may go without a byte from
//     the server before the connection is closed.
//   - Account: Username@Host.
//
// The Logger gets one line per connect, disconnect and error, and debug
// detail.
type Options struct {
	remote.Server
	// MaxConns is the largest number of connections open at once for
	// commands; default 4. Each running Watch holds one more connection of
	// its own, outside this count.
	MaxConns int
	// Spare keeps a connection logged in ahead of need: when a caller takes
	// the last idle connection (or dials), another is dialled in the
	// background, within MaxConns. For a mount, where read-ahead batches run
	// beside readers; a short-lived use (mailfs check) leaves it off.
	Spare bool
	// IdleRestart is how often Watch ends IDLE (DONE) and issues it again;
	// default 25 minutes. Servers may log out a client after 30 minutes
	// without a command (RFC 9051), and RFC 2177 advises re-issuing IDLE
	// at least every 29 minutes; the answer to DONE, due within
	// CommandTimeout, is also Watch's proof that a silent server is still
	// there. Keep it below 29 minutes.
	IdleRestart time.Duration
}

// Defaults of MaxConns and IdleRestart.
const (
	defaultMaxConns    = 4
	defaultIdleRestart = 25 * time.Minute
)

// withDefaults returns a copy of o with every default filled in.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	out.Server = out.WithDefaults(remote.ImplicitPort(993, 143), 15*time.Second, 60*time.Second).WithLoginDefaults()
	if out.MaxConns <= 0 {
		out.MaxConns = defaultMaxConns
	}
	if out.IdleRestart <= 0 {
		out.IdleRestart = defaultIdleRestart
	}
	return out
}
