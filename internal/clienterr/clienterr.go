// Package clienterr holds what the protocol clients (remote/imap,
// remote/pop3) share to build their remote.OpError values: which causes
// are worth keeping in an error chain, what to tell the user about a TLS
// failure, and how to keep a secret out of a server's words.
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
	)
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &certErr) || errors.As(err, &recErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// TLSHint says what to do about a TLS failure, in the words of the config
// file, and returns "" when err is something else.
func TLSHint(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by a trusted authority: check tls_ca_file"
	case errors.As(err, &hostErr):
		return "the certificate does not name this host: check host"
	case errors.As(err, &invalid):
		return "the server's certificate is invalid or expired: check tls_ca_file and the server's certificate"
	case errors.As(err, &recErr):
		return "the server does not speak TLS on this port: check tls (implicit, starttls) and port"
	}
	return ""
}

// Scrub replaces every occurrence of secret in text with "***", in case a
// server echoes a password or token. An empty secret changes nothing.
func Scrub(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "***")
}
