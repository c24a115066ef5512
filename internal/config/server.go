package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
)

// Addr returns "host:port" for net.Dial, with an IPv6 address in brackets.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// TLSConfig returns the TLS settings for this server, for implicit TLS and
// STARTTLS alike: ServerName is Host, and certificates are verified against
// TLSCAFile when set, otherwise against the system roots. Verification is
// never turned off. The CA file is read on every call, so a replaced file
// takes effect at the next connection.
func (s *Server) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.TLSCAFile != "" {
		pool, err := loadCAPool(s.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.tls_ca_file: %w", s.name(), err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadCAPool reads a PEM bundle; it fails when the file holds no certificate.
func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// name identifies the server in errors: its key path when it came from a
// config file, its host otherwise.
func (s *Server) name() string {
	if s.key != "" {
		return s.key
	}
	return "server " + strconv.Quote(s.Host)
}
