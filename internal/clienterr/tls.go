package clienterr

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TLSProblem is what a failed TLS setup means to the user: Detail says
// what is wrong, Hint the one thing to change in the config file. Both
// are empty when the error is not a TLS problem.
type TLSProblem struct {
	Detail string
	Hint   string
}

// ports are the standard ports of each protocol: implicit TLS, then
// plain text with STARTTLS.
var ports = map[string][2]int{
	"imap": {993, 143},
	"pop3": {995, 110},
	"smtp": {465, 587},
}

// ImplicitHint is the hint for a server that speaks TLS from its first
// byte while a plain-text greeting was expected, for protocol ("imap",
// "pop3", "smtp").
func ImplicitHint(protocol string) string {
	h := `the server speaks TLS at once: set tls = "implicit"`
	if p, ok := ports[protocol]; ok {
		h += fmt.Sprintf(", usually on port %d", p[0])
	}
	return h
}

// PlainHint is the hint for a server that greets in plain text while a
// TLS handshake was expected, for protocol ("imap", "pop3", "smtp").
func PlainHint(protocol string) string {
	h := `the server greets in plain text: set tls = "starttls"`
	if p, ok := ports[protocol]; ok {
		h += fmt.Sprintf(", usually on port %d", p[1])
	}
	return h
}

// DescribeTLS explains a failed TLS setup of a protocol ("imap", "pop3",
// "smtp") client: an untrusted certificate (with its subject, issuer and
// SHA-256 fingerprint), a certificate for another host or out of its
// validity, a plain-text server where TLS was expected, or a TLS server
// where plain text was expected (a *TLSAtOnceError). ok is false when err
// is none of these; the caller then keeps its own words.
func DescribeTLS(err error, protocol string) (p TLSProblem, ok bool) {
	var (
		atOnce  *TLSAtOnceError
		verr    *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &atOnce):
		return TLSProblem{Detail: atOnce.Error(), Hint: ImplicitHint(protocol)}, true
	case errors.As(err, &unknown):
		leaf := unknown.Cert
		if errors.As(err, &verr) && len(verr.UnverifiedCertificates) > 0 {
			leaf = verr.UnverifiedCertificates[0]
		}
		return TLSProblem{
			Detail: "the server's certificate is not trusted" + describeCert(leaf),
			Hint:   "if you trust it, set tls_ca_file to a PEM file with the certificate of its issuer, or with this certificate",
		}, true
	case errors.As(err, &hostErr):
		d := "the server's certificate is not valid for " + hostErr.Host
		if hostErr.Certificate != nil {
			if names := certNames(hostErr.Certificate); names != "" {
				d += " (it names " + names + ")"
			}
		}
		return TLSProblem{Detail: d, Hint: "check host: it must be a name the certificate names"}, true
	case errors.As(err, &invalid):
		d := "the server's certificate is not valid: " + invalid.Error()
		if invalid.Reason == x509.Expired && invalid.Cert != nil {
			d = fmt.Sprintf("the server's certificate is valid only from %s to %s",
				invalid.Cert.NotBefore.UTC().Format(time.DateOnly), invalid.Cert.NotAfter.UTC().Format(time.DateOnly))
		}
		var leaf *x509.Certificate
		if errors.As(err, &verr) && len(verr.UnverifiedCertificates) > 0 {
			leaf = verr.UnverifiedCertificates[0]
		}
		return TLSProblem{Detail: d + describeCert(leaf), Hint: "if it has expired, the server's administrator must renew it; else check this machine's clock"}, true
	case errors.As(err, &recErr):
		if plainText(recErr.RecordHeader[:]) {
			return TLSProblem{
				Detail: fmt.Sprintf("the server answered the TLS handshake in plain text (%q)", string(recErr.RecordHeader[:])),
				Hint:   PlainHint(protocol),
			}, true
		}
		return TLSProblem{Detail: "the server does not speak TLS: " + recErr.Msg, Hint: "check tls (implicit, starttls) and port"}, true
	}
	return TLSProblem{}, false
}

// describeCert returns ": subject "…", issuer "…", SHA-256 fingerprint
// AA:BB:…" for cert, "" for nil.
func describeCert(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	return fmt.Sprintf(": subject %q, issuer %q, SHA-256 fingerprint %s",
		cert.Subject.String(), cert.Issuer.String(), Fingerprint(cert))
}

// Fingerprint returns the SHA-256 fingerprint of cert's DER encoding as
// `openssl x509 -noout -fingerprint -sha256` prints it: upper-case hex
// bytes separated by colons.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// certNames lists the DNS names and IP addresses of cert, or its common
// name when it has neither.
func certNames(cert *x509.Certificate) string {
	var names []string
	names = append(names, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

// plainText reports whether b, the first bytes a server sent, look like
// the start of a text greeting ("* OK", "+OK", "220 ") rather than a TLS
// record.
func plainText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}
