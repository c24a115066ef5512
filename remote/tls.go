package remote

import "strconv"

// TLSMode says how a client protects its connection to a mail server. The
// protocol packages (remote/imap, remote/pop3, remote/smtp) take it in their
// Options; each documents its default ports.
type TLSMode int

const (
	// TLSImplicit speaks TLS from the first byte (ports 993, 995, 465). It
	// is the zero value, so the default.
	TLSImplicit TLSMode = iota
	// TLSStartTLS connects in plain text and upgrades with STARTTLS (STLS in
	// POP3) before logging in or saying anything else (ports 143, 110,
	// 587). A server that does not offer the upgrade fails the connection.
	TLSStartTLS
	// TLSNone never encrypts. The config layer allows it for loopback only.
	TLSNone
)

// String returns the config spelling of the mode: "implicit", "starttls"
// or "none", and "TLSMode(N)" for any other value.
func (m TLSMode) String() string {
	switch m {
	case TLSImplicit:
		return "implicit"
	case TLSStartTLS:
		return "starttls"
	case TLSNone:
		return "none"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}
