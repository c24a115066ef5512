package mimeparts

import (
	"errors"
	"mime"
	"slices"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"mailfs/remote"
)

// Fields are what a part's MIME header fields say, as a parser or a
// server's BODYSTRUCTURE gives them, before the rules of this package make
// a remote.Part of them (Part). Parse fills them from the header; the IMAP
// Store fills them from go-imap's body structure, whose parameter values
// are already RFC 2047-decoded but may still be in RFC 2231 form (Dovecot
// sends a parameter filename* with its value still percent-encoded, its
// continuations merged).
type Fields struct {
	// Type and Subtype are the media type, in any case.
	Type, Subtype string
	// Params are the Content-Type parameters, keys in any case.
	Params map[string]string
	// Encoding is the Content-Transfer-Encoding, "" when absent.
	Encoding string
	// Disposition is the Content-Disposition type, "" when absent.
	Disposition string
	// DispositionParams are the Content-Disposition parameters.
	DispositionParams map[string]string
}

// Part returns the remote.Part the fields describe, at section, with the
// body size size (ignored for a multipart): type, subtype, encoding,
// disposition and parameter names in lower case; parameters still in
// RFC 2231 form decoded (and then RFC 2047, as go-message does), an
// extended value taking the place of a plain one; Encoding "7bit" when
// absent, and none for a multipart (BODYSTRUCTURE has neither its
// encoding nor its size); charset=us-ascii for a text part that names no
// charset (RFC 2046 §4.1.2, and what Dovecot reports); Filename from the
// disposition's filename, else the type's name.
func (f Fields) Part(section string, size int64) remote.Part {
	p := remote.Part{
		Section:     section,
		Type:        strings.ToLower(strings.TrimSpace(f.Type)),
		Subtype:     strings.ToLower(strings.TrimSpace(f.Subtype)),
		Params:      decodeParams(f.Params),
		Encoding:    strings.ToLower(strings.TrimSpace(f.Encoding)),
		Size:        size,
		Disposition: strings.ToLower(strings.TrimSpace(f.Disposition)),
	}
	if p.Type == "multipart" {
		p.Encoding, p.Size = "", 0
	} else if p.Encoding == "" {
		p.Encoding = "7bit"
	}
	if p.Type == "text" {
		if _, ok := p.Params["charset"]; !ok {
			if p.Params == nil {
				p.Params = map[string]string{}
			}
			p.Params["charset"] = "us-ascii"
		}
	}
	dp := decodeParams(f.DispositionParams)
	p.Filename = dp["filename"]
	if p.Filename == "" {
		p.Filename = p.Params["name"]
	}
	return p
}

// decodeParams returns params with lower-case names and the values of
// extended parameters (RFC 2231: `name*`, `name*0*`, …) decoded and put
// under their plain names, where they win over a plain value. The
// decoding is mime.ParseMediaType's, the one go-message uses, so a value
// decodes here as it does in a parsed header (it knows UTF-8 and US-ASCII
// only; values in other charsets are dropped). nil when there are none.
func decodeParams(params map[string]string) map[string]string {
	if len(params) == 0 {
		return nil
	}
	out := make(map[string]string, len(params))
	type param struct{ name, value string }
	var ext []param // extended parameters, names in lower case
	for k, v := range params {
		k = strings.ToLower(k)
		if strings.Contains(k, "*") {
			ext = append(ext, param{k, v})
			continue
		}
		out[k] = v
	}
	if len(ext) > 0 {
		slices.SortFunc(ext, func(a, b param) int { return strings.Compare(a.name, b.name) })
		var b strings.Builder
		b.WriteString("x/x")
		for _, p := range ext {
			if strings.ContainsAny(p.value, "\r\n") {
				continue // cannot be quoted; not an RFC 2231 value anyway
			}
			b.WriteString("; ")
			b.WriteString(p.name)
			b.WriteString(`="`)
			b.WriteString(quoter.Replace(p.value))
			b.WriteString(`"`)
		}
		if _, decoded, err := mime.ParseMediaType(b.String()); err == nil {
			for k, v := range decoded {
				out[k] = decodeWords(v)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// quoter escapes a value for a quoted-string.
var quoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// wordDecoder decodes RFC 2047 encoded words in every charset go-message
// knows, as go-message and the IMAP client do.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes the RFC 2047 words of a parameter value; on failure
// the value is kept as it is (as go-message does).
func decodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	if s, err := wordDecoder.DecodeHeader(v); err == nil {
		return s
	}
	return v
}

// fieldsOf reads the MIME fields of a header. A part without Content-Type
// is text/plain, or message/rfc822 in a multipart/digest (RFC 2046
// §5.1.5); a Content-Type that is there but empty has an empty type, as
// Dovecot reports it.
func fieldsOf(h textproto.Header, inDigest bool) Fields {
	var f Fields
	switch {
	case h.Has("Content-Type"):
		f.Type, f.Subtype, f.Params = parseValue(h.Get("Content-Type"))
	case inDigest:
		f.Type, f.Subtype = "message", "rfc822"
	default:
		f.Type, f.Subtype = "text", "plain"
	}
	f.Encoding = noNUL(h.Get("Content-Transfer-Encoding"))
	if v := h.Get("Content-Disposition"); v != "" {
		f.Disposition, _, f.DispositionParams = parseValue(v)
	}
	return f
}

// parseValue splits a Content-Type or Content-Disposition value into its
// type, subtype (after a "/", if any) and parameters, with
// mime.ParseMediaType and go-message's RFC 2047 decoding of the values.
// When the parameters cannot be parsed the type stands alone; when the
// type cannot either, it is what precedes the first ";", white space or
// comment. NULs become U+FFFD, as Dovecot has them.
func parseValue(v string) (typ, sub string, params map[string]string) {
	v = noNUL(v)
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		params = nil
		if !errors.Is(err, mime.ErrInvalidMediaParameter) || mt == "" {
			mt, _, _ = strings.Cut(v, ";")
			if i := strings.IndexAny(strings.TrimSpace(mt), " \t("); i >= 0 {
				mt = strings.TrimSpace(mt)[:i]
			}
			mt = strings.ToLower(strings.TrimSpace(mt))
		}
	}
	for k, pv := range params {
		params[k] = decodeWords(pv)
	}
	typ, sub, _ = strings.Cut(mt, "/")
	return typ, sub, params
}

// noNUL replaces NUL bytes with U+FFFD.
func noNUL(s string) string {
	if !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// isMessage reports whether p is an attached message whose structure the
// server describes (message/rfc822; message/global is a leaf to Dovecot).
func isMessage(p remote.Part) bool {
	return p.Type == "message" && p.Subtype == "rfc822"
}

// emptyText is the part Dovecot reports where a part should be and none
// is: an empty text/plain.
func emptyText(section string) remote.Part {
	return Fields{Type: "text", Subtype: "plain"}.Part(section, 0)
}
