package outbox

import (
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

// plan is what validation decides about a message: the account that sends
// it, the envelope, and the From: field to add when it has none.
type plan struct {
	acct *account
	// from is the envelope sender; to the recipients (To, Cc, Bcc).
	from string
	to   []string
	// fillFrom is the address written into a new From: field, "" when the
	// message has one.
	fillFrom string
	// domain is the domain of the From: address, for a new Message-ID.
	domain string
}

// maxReason bounds the reason an invalid message is refused with: it goes
// into a one-line NAME.error and the log, and a parser may quote a whole
// line of the message (an editor's swap file gave 4 KB of NULs).
const maxReason = 200

// invalidf returns an error wrapping ErrInvalid with the reason, made
// readable and short (see excerpt).
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, excerpt(fmt.Sprintf(format, args...), maxReason))
}

// excerpt returns s with control characters and invalid UTF-8 written as
// \xNN escapes, and, when that is longer than n bytes, the whole
// characters and escapes that fit in n bytes followed by "…" and the
// length of the whole.
func excerpt(s string, n int) string {
	var b strings.Builder
	total := 0
	for i, r := range s {
		piece := string(r)
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				piece = fmt.Sprintf("\\x%02x", s[i]) // a byte that is not UTF-8
			}
		case r < 0x20 || r == 0x7f:
			piece = fmt.Sprintf("\\x%02x", r)
		}
		if total+len(piece) <= n {
			b.WriteString(piece)
		}
		total += len(piece)
	}
	if total > n {
		fmt.Fprintf(&b, "… (%d bytes)", total)
	}
	return b.String()
}

// accountFor returns the account owning addr, or nil.
func (o *Outbox) accountFor(addr string) *account {
	for _, a := range o.accounts {
		for _, own := range a.Addresses {
			if strings.EqualFold(own, addr) {
				return a
			}
		}
	}
	return nil
}

// route validates the parsed header h and decides how the message is sent.
// Its errors wrap ErrInvalid and say why in one line.
func (o *Outbox) route(h *mail.Header) (*plan, error) {
	if h.Has("Received") && !o.allowReceived {
		return nil, invalidf("it has a Received: header, so a mail server delivered it: sending it would send that message to its recipients again; remove the Received: lines, or set allow_received = true in [outbox] to send such messages")
	}
	p := &plan{}
	from, err := addressField(h, "From")
	if err != nil {
		return nil, err
	}
	switch {
	case h.Has("From") && len(from) == 0:
		return nil, invalidf("From: has no address")
	case len(from) == 0:
		if o.def == nil {
			return nil, invalidf("no From: and no account is default")
		}
		if len(o.def.Addresses) == 0 {
			return nil, invalidf("no From: and the default account %s has no address", o.def.Name)
		}
		p.acct = o.def
		p.fillFrom = o.def.Addresses[0]
		p.from = p.fillFrom
	default:
		for _, a := range from {
			if acct := o.accountFor(a.Address); acct != nil {
				p.acct, p.from = acct, a.Address
				break
			}
		}
		if p.acct == nil {
			if !o.allowUnknown {
				return nil, invalidf("From: %s is not an address of any account: add it to an account's addresses, or set allow_unknown_from = true in [outbox] to send it through the default account", from[0].Address)
			}
			if o.def == nil {
				return nil, invalidf("From: %s matches no account's addresses and no account is default", from[0].Address)
			}
			p.acct = o.def
			p.from = from[0].Address
			if len(o.def.Addresses) > 0 {
				p.from = o.def.Addresses[0]
			}
		}
	}
	fromAddr := p.fillFrom
	if fromAddr == "" {
		fromAddr = from[0].Address
	}
	if i := strings.LastIndexByte(fromAddr, '@'); i >= 0 {
		p.domain = strings.ToLower(fromAddr[i+1:])
	}
	if p.domain == "" {
		p.domain = "localhost"
	}

	seen := make(map[string]bool)
	for _, key := range []string{"To", "Cc", "Bcc"} {
		addrs, err := addressField(h, key)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			k := strings.ToLower(a.Address)
			if !seen[k] {
				seen[k] = true
				p.to = append(p.to, a.Address)
			}
		}
	}
	if len(p.to) == 0 {
		return nil, invalidf("no recipients (To, Cc or Bcc)")
	}
	return p, nil
}

// addressField parses every field named key as an address list (group
// syntax allowed). A display name in a charset go-message cannot decode does
// not make the message invalid: only the addresses matter for sending, and
// the header is transmitted as written.
func addressField(h *mail.Header, key string) ([]*mail.Address, error) {
	var all []*mail.Address
	for _, v := range h.Values(key) {
		if strings.TrimSpace(v) == "" {
			continue
		}
		addrs, err := mail.ParseAddressList(v)
		if err != nil {
			lenient := netmail.AddressParser{WordDecoder: &mime.WordDecoder{
				CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
			}}
			var lerr error
			if addrs, lerr = lenient.ParseList(v); lerr != nil {
				return nil, invalidf("%s: %q: %v", key, truncUTF8(v, 80), err)
			}
		}
		all = append(all, addrs...)
	}
	return all, nil
}
