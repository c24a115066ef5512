package pop3

import (
	"time"

	"mailfs/remote"
)

// Options configures a Client. Nil options are not useful: Host, Username
// and Password (or Token) are needed to log in. Zero fields take these
// defaults:
//
//   - Port: 995 with remote.TLSImplicit, 110 otherwise (STLS or plain
//     text).
//   - Auth: "plain" (SASL PLAIN when CAPA offers it, USER/PASS otherwise);
//     the others are "xoauth2" and "oauthbearer".
//   - DialTimeout: 15s, for the TCP connect and the TLS handshake.
//   - CommandTimeout: 60s, how long the server may stay silent during a
//     command (the greeting and STLS included) before the connection is
//     closed. A long transfer that keeps moving never times out.
//   - Account: Username@Host.
//
// Certificates are always verified. The Logger gets one line per connect,
// disconnect and error.
type Options struct {
	remote.Server
}

// withDefaults returns a copy of o with every default filled in.
func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	out.Server = out.WithDefaults(remote.ImplicitPort(995, 110), 15*time.Second, 60*time.Second).WithLoginDefaults()
	return out
}
