// Package clienterr holds what the protocol clients (remote/imap,
// remote/pop3, remote/smtp) share to build their errors: which causes are
// worth keeping in an error chain, what to tell the user about a TLS
// failure (an untrusted certificate, tls set wrongly for the port), how
// to notice a server that speaks TLS at once before a plain-text greeting
// times out, and how to keep a secret out of a server's words.
package clienterr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
)

// KeepCause returns err when its chain holds a standard-library error
// worth matching (network, TLS, certificate, EOF), nil otherwise, so that
// library errors are reduced to their text.
func KeepCause(err error) error {
	var (
		netErr  net.Error
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		atOnce  *TLSAtOnceError
	)
	if errors.As(err, &atOnce) || errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &certErr) || errors.As(err, &recErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// TLSHint says what to do about a TLS failure, in the words of the config
// file, and returns "" when err is something else. DescribeTLS says also
// what went wrong.
func TLSHint(err error) string {
	p, _ := DescribeTLS(err, "")
	return p.Hint
}

// Scrub replaces every occurrence of secret in text with "***", in case a
// server echoes a password or token. An empty secret changes nothing.
func Scrub(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "***")
}
