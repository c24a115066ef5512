package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate as PEM to path and returns it.
func writeCA(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailfs test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestTLSConfigSystemRoots(t *testing.T) {
	s := &Server{Host: "imap.example.com", Port: 993}
	c, err := s.TLSConfig()
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	if c.ServerName != "imap.example.com" || c.RootCAs != nil || c.InsecureSkipVerify {
		t.Errorf("got ServerName %q RootCAs %v InsecureSkipVerify %v, want imap.example.com, nil, false",
			c.ServerName, c.RootCAs, c.InsecureSkipVerify)
	}
}

func TestTLSConfigCAFile(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	cert := writeCA(t, ca)
	cfg, err := Parse([]byte(imapServer("tls_ca_file = '"+ca+"'\n")), filepath.Join(dir, "c.toml"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c, err := cfg.Accounts[0].IMAP.TLSConfig()
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	if c.InsecureSkipVerify {
		t.Error("InsecureSkipVerify: got true, want false")
	}
	if c.RootCAs == nil {
		t.Fatal("RootCAs: got nil, want the pool from the CA file")
	}
	want := x509.NewCertPool()
	want.AddCert(cert)
	if !c.RootCAs.Equal(want) {
		t.Error("RootCAs: got a pool without the CA from the file, want exactly that CA")
	}
}

func TestTLSConfigBadCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "notpem.txt")
	if err := os.WriteFile(bad, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("parse", func(t *testing.T) {
		_, err := Parse([]byte(imapServer("tls_ca_file = '"+bad+"'\n")), "c.toml")
		if err == nil || !strings.Contains(err.Error(), `accounts[0] ("work").imap.tls_ca_file: CA file `+bad+" holds no PEM certificate") {
			t.Errorf("Parse: got %v, want an error naming tls_ca_file and %s", err, bad)
		}
	})
	t.Run("no PEM", func(t *testing.T) {
		s := &Server{Host: "h", TLSCAFile: bad, key: `accounts[0] ("work").imap`}
		_, err := s.TLSConfig()
		if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "holds no PEM certificate") {
			t.Errorf("TLSConfig: got %v, want an error naming %s", err, bad)
		}
	})
	t.Run("gone", func(t *testing.T) {
		gone := filepath.Join(dir, "gone.pem")
		s := &Server{Host: "h", TLSCAFile: gone}
		_, err := s.TLSConfig()
		if err == nil || !strings.Contains(err.Error(), gone) {
			t.Errorf("TLSConfig: got %v, want an error naming %s", err, gone)
		}
	})
}

func TestAddr(t *testing.T) {
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"imap.example.com", 993, "imap.example.com:993"},
		{"127.0.0.1", 143, "127.0.0.1:143"},
		{"::1", 143, "[::1]:143"},
		{"fe80::1%eth0", 25, "[fe80::1%eth0]:25"},
	} {
		s := &Server{Host: tc.host, Port: tc.port}
		if got := s.Addr(); got != tc.want {
			t.Errorf("Addr(%q, %d): got %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"10.0.0.1": false, "imap.example.com": false, "localhost.example.com": false, "::2": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q): got %v, want %v", host, got, want)
		}
	}
}
