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
	// MaxConns is the largest number of connections open at once; default 4.
	MaxConns int
	// Spare keeps a connection logged in ahead of need: when a caller takes
	// the last idle connection (or dials), another is dialled in the
	// background, within MaxConns. For a mount, where read-ahead batches run
	// beside readers; a short-lived use (mailfs check) leaves it off.
	Spare bool
}

// defaultMaxConns is the default of MaxConns.
const defaultMaxConns = 4

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
	return out
}
