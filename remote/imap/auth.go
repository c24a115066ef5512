package imap

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailfs/internal/clienterr"
	"mailfs/internal/xoauth2"
	"mailfs/remote"
)

// login authenticates c with the configured mechanism. caps are the
// capabilities before authentication.
func (s *Store) login(ctx context.Context, c *imapclient.Client, caps imap.CapSet) error {
	const op = "LOGIN"
	var secret func(context.Context) (string, error)
	what := "password"
	switch s.opts.Auth {
	case "plain", "login":
		secret = s.opts.Password
	case "xoauth2", "oauthbearer":
		secret, what = s.opts.Token, "token"
	default:
		return s.newErr(op, remote.ErrAuth, fmt.Sprintf("unknown auth mechanism %q", s.opts.Auth),
			"use plain, login, xoauth2 or oauthbearer", nil)
	}
	if secret == nil {
		return s.newErr(op, remote.ErrAuth, "no "+what+" configured", "set the account's "+what, nil)
	}
	value, err := secret(ctx)
	if err != nil {
		if ctxErr := contextErr(err); ctxErr != nil {
			return s.newErr(op, nil, "", "", ctxErr)
		}
		return s.newErr(op, remote.ErrAuth, "cannot get the "+what+": "+clienterr.Scrub(err.Error(), value),
			"check the "+what+"_command", nil)
	}

	var mech string
	switch s.opts.Auth {
	case "plain":
		if caps.Has(imap.CapLoginDisabled) {
			mech = "AUTHENTICATE PLAIN"
			err = c.Authenticate(sasl.NewPlainClient("", s.opts.Username, value))
		} else {
			mech = "LOGIN"
			err = c.Login(s.opts.Username, value).Wait()
		}
	case "login":
		mech = "AUTHENTICATE LOGIN"
		err = c.Authenticate(sasl.NewLoginClient(s.opts.Username, value))
	case "xoauth2":
		mech = "AUTHENTICATE XOAUTH2"
		err = c.Authenticate(xoauth2.NewClient(s.opts.Username, value))
	case "oauthbearer":
		mech = "AUTHENTICATE OAUTHBEARER"
		err = c.Authenticate(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{
			Username: s.opts.Username, Token: value, Host: s.opts.Host, Port: s.opts.Port,
		}))
	}
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		kind := remote.ErrAuth
		hint := "check username/password"
		if what == "token" {
			hint = "check username and token_command; the token may have expired"
		}
		switch {
		case serverTrouble(ie):
			// UNAVAILABLE, SERVERBUG, INUSE, LIMIT…: not the credentials.
			kind, hint = remote.ErrUnavailable, "try again later"
		case ie.Code == imap.ResponseCodePrivacyRequired:
			hint = "the server requires TLS: check tls"
		}
		return s.newErr(mech+" as "+s.opts.Username, kind, clienterr.Scrub(serverWords(ie), value), hint, nil)
	}
	var oe *sasl.OAuthBearerError
	if errors.As(err, &oe) {
		return s.newErr(mech+" as "+s.opts.Username, remote.ErrAuth, "token rejected, status "+oe.Status,
			"check token_command; the token may have expired", nil)
	}
	if contextErr(err) == nil && clienterr.KeepCause(err) == nil {
		// A SASL exchange that went out of step: the server disagrees.
		return s.newErr(mech+" as "+s.opts.Username, remote.ErrAuth, clienterr.Scrub(err.Error(), value), "check auth", nil)
	}
	return s.mapErr(mech+" as "+s.opts.Username, err, nil)
}
