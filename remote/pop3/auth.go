package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	gopop3 "github.com/knadh/go-pop3"

	"mailfs/internal/clienterr"
	"mailfs/internal/xoauth2"
	"mailfs/remote"
)

// login authenticates the session with the configured mechanism and
// returns the name of what it used, for the log.
func (s *session) login(ctx context.Context) (string, error) {
	o := &s.c.opts
	const op = "login"
	var secretFn func(context.Context) (string, error)
	what := "password"
	switch o.Auth {
	case "plain":
		secretFn = o.Password
	case "xoauth2", "oauthbearer":
		secretFn, what = o.Token, "token"
	default:
		return "", s.c.newErr(op, remote.ErrAuth, fmt.Sprintf("unknown auth mechanism %q", o.Auth),
			"use plain, xoauth2 or oauthbearer", nil)
	}
	if secretFn == nil {
		return "", s.c.newErr(op, remote.ErrAuth, "no "+what+" configured", "set the account's "+what, nil)
	}
	if strings.ContainsAny(o.Username, "\r\n\x00") {
		return "", s.c.newErr(op, remote.ErrAuth, "the username contains a line break or NUL", "check username", nil)
	}
	secret, err := secretFn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", s.c.newErr(op, nil, "", "", ctx.Err())
		}
		return "", s.c.newErr(op, remote.ErrAuth, "cannot get the "+what+": "+clienterr.Scrub(err.Error(), secret),
			"check the "+what+"_command", nil)
	}
	if strings.ContainsAny(secret, "\r\n\x00") {
		return "", s.c.newErr(op, remote.ErrAuth, "the "+what+" contains a line break or NUL", "check the "+what, nil)
	}

	var mech string
	var client sasl.Client
	switch o.Auth {
	case "plain":
		if !capLine(s.caps, "SASL", "PLAIN") {
			mech = "USER/PASS"
			err = s.do(ctx, mech+" as "+o.Username, secret, func() error {
				if _, err := s.cn.cmd("USER "+o.Username, func(pc *gopop3.Conn) error {
					return pc.User(o.Username)
				}); err != nil {
					return err
				}
				_, err := s.cn.cmd("PASS "+secret, func(pc *gopop3.Conn) error {
					return pc.Pass(secret)
				})
				return err
			})
			return mech, s.authErr(err, what)
		}
		mech, client = "AUTH PLAIN", sasl.NewPlainClient("", o.Username, secret)
	case "xoauth2":
		mech, client = "AUTH XOAUTH2", xoauth2.NewClient(o.Username, secret)
	case "oauthbearer":
		mech, client = "AUTH OAUTHBEARER", sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{
			Username: o.Username, Token: secret, Host: o.Host, Port: o.Port,
		})
	}
	err = s.do(ctx, mech+" as "+o.Username, secret, func() error { return s.sasl(client) })
	return mech, s.authErr(err, what)
}

// sasl runs a SASL exchange (RFC 5034), every line sent with go-pop3's
// Cmd and every reply line judged by us: a "+ " continuation carries a
// challenge, anything else ends the exchange. A failed exchange ends with
// the server's -ERR, returned as a *serverError.
func (s *session) sasl(client sasl.Client) error {
	mech, ir, err := client.Start()
	if err != nil {
		return &protocolError{msg: "SASL start: " + err.Error()}
	}
	line := "AUTH " + mech
	var pending []byte // initial response still to send after "+ "
	if ir != nil {
		enc := "="
		if len(ir) > 0 {
			enc = base64.StdEncoding.EncodeToString(ir)
		}
		if len(line)+1+len(enc)+2 <= maxAuthLine {
			line += " " + enc
		} else {
			pending = ir
		}
	}
	for {
		reply, err := s.cn.single(line, func(pc *gopop3.Conn) error {
			_, err := pc.Cmd(line, false)
			return err
		})
		if err != nil {
			return err
		}
		if err := s.cn.w.inStep(); err != nil {
			return err
		}
		if len(reply) == 0 || reply[0] != '+' || (len(reply) > 1 && reply[1] != ' ') {
			// "+OK" (logged in), "-ERR" or garbage.
			_, err := parseStatus(reply)
			return err
		}
		var resp []byte
		if pending != nil {
			resp, pending = pending, nil
		} else {
			challenge, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(string(reply), "+")))
			if derr == nil {
				resp, derr = client.Next(challenge)
			}
			if derr != nil {
				// Cancel; the server answers -ERR.
				if _, err := s.cn.simple("*"); err != nil {
					return err
				}
				return &protocolError{msg: "server accepted a cancelled SASL exchange"}
			}
		}
		line = base64.StdEncoding.EncodeToString(resp)
	}
}

// authErr turns a login failure into remote.ErrAuth, unless the server says
// it is in trouble ([IN-USE], [SYS/TEMP], [SYS/PERM], [LOGIN-DELAY]) or the
// connection failed (remote.ErrUnavailable).
func (s *session) authErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var oe *remote.OpError
	if !errors.As(err, &oe) || !(errors.Is(err, remote.ErrRefused) || errors.Is(err, remote.ErrAuth)) {
		return err
	}
	oe.Kind = remote.ErrAuth
	oe.Hint = "check username and " + what
	if what == "token" {
		oe.Hint = "check username and token_command; the token may have expired"
	}
	// A failed SASL exchange can leave the session out of step: start over.
	s.cn.fail(err)
	return err
}
