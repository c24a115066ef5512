// Package xoauth2 implements XOAUTH2, the SASL mechanism of Google and
// Microsoft mail servers, which go-sasl lacks. The IMAP, POP3 and SMTP
// clients share it.
//
// The client sends one initial response, "user=U^Aauth=Bearer T^A^A". A
// server that rejects the token sends a JSON challenge (status, schemes,
// scope; no secret), which the client answers with an empty response; the
// server then ends the exchange with its failure reply (a tagged NO, -ERR
// or 5xx), which carries the verdict.
package xoauth2

import (
	"strings"

	"github.com/emersion/go-sasl"
)

// Client is an XOAUTH2 sasl.Client for one login. It is not safe for
// concurrent use.
type Client struct {
	username, token string
	failure         string
}

var _ sasl.Client = (*Client)(nil)

// NewClient returns a Client logging in as username with the OAuth 2
// access token.
func NewClient(username, token string) *Client {
	return &Client{username: username, token: token}
}

// Start returns the mechanism name "XOAUTH2" and the initial response
// "user=U^Aauth=Bearer T^A^A".
func (c *Client) Start() (mech string, ir []byte, err error) {
	return "XOAUTH2", []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next keeps the server's challenge, its JSON error report, for Failure
// and answers it with an empty response, so that the server finishes with
// its failure reply.
func (c *Client) Next(challenge []byte) ([]byte, error) {
	c.failure = strings.TrimSpace(string(challenge))
	return []byte{}, nil
}

// Failure returns the server's error report, without surrounding white
// space, or "" when the server sent none.
func (c *Client) Failure() string {
	return c.failure
}
