package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/internal/clienterr"
	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// checkOutput runs `mailfs check` on a config and returns its output
// (stdout and stderr), its exit code and how long it took.
func checkOutput(t *testing.T, config string) (string, int, time.Duration) {
	t.Helper()
	var out bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"check", "-config", config}, &out, &out)
	return out.String(), code, time.Since(start)
}

// wantOnce fails unless want occurs exactly once in out.
func wantOnce(t *testing.T, out, want string) {
	t.Helper()
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("%q occurs %d times, want once; output:\n%s", want, n, out)
	}
}

// TestDovecotCheckHints runs `mailfs check` against Dovecot and Postfix
// set up wrongly in the ways users do, and wants each failure said once,
// with one hint, fast, and without the password.
func TestDovecotCheckHints(t *testing.T) {
	d := interop.StartDovecot(t, nil)
	p := interop.StartPostfix(t, &interop.PostfixOptions{Dovecot: d, TLS: true, AuthUsers: map[string]string{"alice": "secret"}})
	postfixCA := filepath.Join(t.TempDir(), "postfix-ca.pem")
	if err := os.WriteFile(postfixCA, p.CA.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	const password = "secret" // Dovecot's password of alice
	account := func(proto string, port int, tls, caFile, pass string) string {
		s := fmt.Sprintf("  [accounts.%s]\n  host = \"127.0.0.1\"\n  port = %d\n  tls = %q\n  username = \"alice\"\n  password = %q\n",
			proto, port, tls, pass)
		if caFile != "" {
			s += fmt.Sprintf("  tls_ca_file = %q\n", caFile)
		}
		return s
	}
	config := func(servers ...string) string {
		return writeConfig(t, "[[accounts]]\nname = \"dove\"\naddresses = [\"alice@example.org\"]\n%s", strings.Join(servers, ""))
	}
	goodIMAP := account("imap", d.IMAPSPort, "implicit", d.CAFile, password)
	goodSMTP := account("smtp", p.Port, "starttls", postfixCA, password)

	t.Run("good", func(t *testing.T) {
		out, code, _ := checkOutput(t, config(goodIMAP, goodSMTP))
		if code != 0 {
			t.Fatalf("exit %d, want 0; output:\n%s", code, out)
		}
		wantOnce(t, out, "account dove: ok")
	})

	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-pass-2718"
		out, code, _ := checkOutput(t, config(account("imap", d.IMAPSPort, "implicit", d.CAFile, wrong), goodSMTP))
		if code == 0 {
			t.Fatalf("exit 0, want failure; output:\n%s", out)
		}
		wantOnce(t, out, "Authentication failed")
		wantOnce(t, out, "check username")
		if strings.Contains(out, wrong) {
			t.Errorf("output contains the password:\n%s", out)
		}
		// The SMTP server is checked although IMAP failed.
		wantOnce(t, out, "extensions:")
		if strings.Contains(out, "account dove: ok") {
			t.Errorf("a failed account reported ok:\n%s", out)
		}
	})

	// The leaf certificates of Dovecot and Postfix, as openssl would show
	// them.
	leaf := func(t *testing.T, path string) *x509.Certificate {
		t.Helper()
		block, _ := pem.Decode(mustRead(t, path))
		if block == nil {
			t.Fatalf("%s: no PEM", path)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("no tls_ca_file", func(t *testing.T) {
		out, code, _ := checkOutput(t, config(account("imap", d.IMAPSPort, "implicit", "", password),
			account("smtp", p.Port, "starttls", "", password)))
		if code == 0 {
			t.Fatalf("exit 0, want failure; output:\n%s", out)
		}
		cert := leaf(t, filepath.Join(d.Dir, "tls", "cert.pem"))
		wantOnce(t, out, clienterr.Fingerprint(cert))
		if strings.Contains(out, "x509:") || strings.Contains(out, "unknown authority") {
			t.Errorf("output shows the library's words:\n%s", out)
		}
		// One hint for IMAP and one for SMTP.
		if n := strings.Count(out, "set tls_ca_file"); n != 2 {
			t.Errorf("\"set tls_ca_file\" occurs %d times, want twice (imap, smtp); output:\n%s", n, out)
		}
		if n := strings.Count(out, "not trusted"); n != 2 {
			t.Errorf("\"not trusted\" occurs %d times, want twice; output:\n%s", n, out)
		}
		if !strings.Contains(out, cert.Subject.String()) || !strings.Contains(out, cert.Issuer.String()) {
			t.Errorf("output lacks the subject %q or issuer %q:\n%s", cert.Subject, cert.Issuer, out)
		}
		if strings.Contains(out, password) {
			t.Errorf("output contains the password:\n%s", out)
		}
	})

	implicit := []struct {
		name        string
		server      string
		proto, hint string
	}{
		{"imap starttls on the implicit port", account("imap", d.IMAPSPort, "starttls", d.CAFile, password), "imap", clienterr.ImplicitHint("imap")},
		{"imap none on the implicit port", account("imap", d.IMAPSPort, "none", "", password), "imap", clienterr.ImplicitHint("imap")},
		{"pop3 starttls on the implicit port", account("pop3", d.POP3SPort, "starttls", d.CAFile, password), "pop3", clienterr.ImplicitHint("pop3")},
		{"pop3 none on the implicit port", account("pop3", d.POP3SPort, "none", "", password), "pop3", clienterr.ImplicitHint("pop3")},
		{"imap implicit on the plain port", account("imap", d.IMAPPort, "implicit", d.CAFile, password), "imap", clienterr.PlainHint("imap")},
		{"pop3 implicit on the plain port", account("pop3", d.POP3Port, "implicit", d.CAFile, password), "pop3", clienterr.PlainHint("pop3")},
	}
	for _, tc := range implicit {
		t.Run(tc.name, func(t *testing.T) {
			out, code, took := checkOutput(t, config(tc.server))
			if code == 0 {
				t.Fatalf("exit 0, want failure; output:\n%s", out)
			}
			wantOnce(t, out, tc.hint)
			if took > 5*time.Second {
				t.Errorf("took %s, want under 5s", took)
			}
			if strings.Contains(out, password) {
				t.Errorf("output contains the password:\n%s", out)
			}
		})
	}

	t.Run("smtp implicit on the plain port", func(t *testing.T) {
		out, code, took := checkOutput(t, config(goodIMAP, account("smtp", p.Port, "implicit", postfixCA, password)))
		if code == 0 {
			t.Fatalf("exit 0, want failure; output:\n%s", out)
		}
		wantOnce(t, out, clienterr.PlainHint("smtp"))
		wantOnce(t, out, "capabilities:") // IMAP was checked
		if took > 5*time.Second {
			t.Errorf("took %s, want under 5s", took)
		}
	})

	// Postfix here has no implicit-TLS listener: go-smtp's server has one.
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	smtps := remotetest.NewSMTP(t, &remotetest.SMTPOptions{TLS: remotetest.TLSImplicit, CA: ca, Username: "alice", Password: password})
	smtpsCA := filepath.Join(t.TempDir(), "smtps-ca.pem")
	if err := os.WriteFile(smtpsCA, ca.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"starttls", "none"} {
		t.Run("smtp "+mode+" on the implicit port", func(t *testing.T) {
			out, code, took := checkOutput(t, config(goodIMAP, account("smtp", smtps.Port(), mode, smtpsCA, password)))
			if code == 0 {
				t.Fatalf("exit 0, want failure; output:\n%s", out)
			}
			wantOnce(t, out, clienterr.ImplicitHint("smtp"))
			if took > 5*time.Second {
				t.Errorf("took %s, want under 5s", took)
			}
			if strings.Contains(out, password) {
				t.Errorf("output contains the password:\n%s", out)
			}
		})
	}
}
