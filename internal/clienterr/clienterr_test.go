package clienterr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestKeepCause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		keep bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{x509.HostnameError{Host: "h"}, true},
		{errors.New("imapclient: unexpected response"), false},
	} {
		got := KeepCause(tc.err)
		if (got != nil) != tc.keep || (got != nil && got != tc.err) {
			t.Errorf("KeepCause(%v): got %v, want kept %v", tc.err, got, tc.keep)
		}
	}
}

func TestTLSHint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string // a word of the hint; "" for none
	}{
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "tls_ca_file"},
		{x509.HostnameError{Host: "h"}, "check host"},
		{x509.CertificateInvalidError{Reason: x509.Expired}, "expired"},
		{tls.RecordHeaderError{Msg: "not TLS"}, "check tls"},
		{io.EOF, ""},
	} {
		got := TLSHint(tc.err)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("TLSHint(%v): got %q, want a hint with %q", tc.err, got, tc.want)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ text, secret, want string }{
		{"bad password hunter2 for hunter2", "hunter2", "bad password *** for ***"},
		{"nothing here", "", "nothing here"},
	} {
		if got := Scrub(tc.text, tc.secret); got != tc.want {
			t.Errorf("Scrub(%q, %q): got %q, want %q", tc.text, tc.secret, got, tc.want)
		}
	}
}
