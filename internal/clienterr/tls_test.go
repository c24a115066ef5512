package clienterr

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailfs/remote/remotetest"
)

func TestDescribeTLS(t *testing.T) {
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ca.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	untrusted := &tls.CertificateVerificationError{
		UnverifiedCertificates: []*x509.Certificate{leaf},
		Err:                    x509.UnknownAuthorityError{Cert: leaf},
	}
	for _, tc := range []struct {
		name         string
		err          error
		detail, hint []string // words the detail and the hint must have
	}{
		{"untrusted", fmt.Errorf("TLS handshake: %w", untrusted),
			[]string{"not trusted", Fingerprint(leaf), leaf.Subject.String(), leaf.Issuer.String()}, []string{"tls_ca_file"}},
		{"wrong host", x509.HostnameError{Host: "mail.example.org", Certificate: leaf},
			[]string{"mail.example.org", "127.0.0.1"}, []string{"check host"}},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired, Cert: leaf},
			[]string{"valid only from"}, []string{"expired"}},
		{"plain text", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'*', ' ', 'O', 'K', ' '}},
			[]string{`"* OK "`}, []string{`set tls = "starttls", usually on port 143`}},
		{"TLS at once", &TLSAtOnceError{Silent: GreetingSilence},
			[]string{"3s"}, []string{`set tls = "implicit", usually on port 993`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := DescribeTLS(tc.err, "imap")
			if !ok {
				t.Fatalf("DescribeTLS(%v): got not a TLS problem, want one", tc.err)
			}
			for _, w := range tc.detail {
				if !strings.Contains(p.Detail, w) {
					t.Errorf("detail %q lacks %q", p.Detail, w)
				}
			}
			for _, w := range tc.hint {
				if !strings.Contains(p.Hint, w) {
					t.Errorf("hint %q lacks %q", p.Hint, w)
				}
			}
		})
	}
	if p, ok := DescribeTLS(io.EOF, "imap"); ok {
		t.Errorf("DescribeTLS(EOF): got %+v, want not a TLS problem", p)
	}
	if p, _ := DescribeTLS(errors.New("x"), "pop3"); p != (TLSProblem{}) {
		t.Errorf("DescribeTLS(x): got %+v, want zero", p)
	}
	for proto, want := range map[string]string{"imap": "993", "pop3": "995", "smtp": "465"} {
		if h := ImplicitHint(proto); !strings.Contains(h, want) {
			t.Errorf("ImplicitHint(%s): got %q, want port %s", proto, h, want)
		}
	}
	for proto, want := range map[string]string{"imap": "143", "pop3": "110", "smtp": "587"} {
		if h := PlainHint(proto); !strings.Contains(h, want) {
			t.Errorf("PlainHint(%s): got %q, want port %s", proto, h, want)
		}
	}
}

// TestFingerprintLikeOpenSSL compares Fingerprint with what
// `openssl x509 -noout -fingerprint -sha256` prints.
func TestFingerprintLikeOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ca.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	// "sha256 Fingerprint=AA:BB:…" (the prefix's case varies by version)
	_, want, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if got := Fingerprint(leaf); got != want {
		t.Errorf("Fingerprint: got %s, want %s (openssl)", got, want)
	}
}
