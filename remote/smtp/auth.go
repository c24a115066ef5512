package smtp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailfs/internal/xoauth2"
	"mailfs/remote"
)

// Authentication mechanisms accepted in Options.Auth.
const (
	AuthPlain       = "plain"
	AuthLogin       = "login"
	AuthXOAuth2     = "xoauth2"
	AuthOAuthBearer = "oauthbearer"
)

// authenticate logs in on c as configured. Secrets go to the server and
// nowhere else: errors name the mechanism and carry the server's reply.
func (s *Sender) authenticate(ctx context.Context, c *gosmtp.Client) error {
	if s.opts.Username == "" {
		return nil
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return fmt.Errorf("authenticate as %s: server offers no AUTH (is TLS required first?): %w: %w",
			s.opts.Username, remote.ErrAuth, remote.ErrPermanent)
	}
	mech, client, err := s.saslClient(ctx, c)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("authenticate as %s with %s", s.opts.Username, mech)
	if err := c.Auth(client); err != nil {
		err = classify(ctx, op, err)
		var re *ReplyError
		if errors.As(err, &re) {
			re.Auth = true
			if x, ok := client.(*xoauth2.Client); ok && x.Failure() != "" {
				re.Message += " (" + x.Failure() + ")"
			}
		}
		return err
	}
	return nil
}

// saslClient picks the mechanism: the configured one, or for "plain" (the
// default) PLAIN when offered and LOGIN when only LOGIN is.
func (s *Sender) saslClient(ctx context.Context, c *gosmtp.Client) (string, sasl.Client, error) {
	auth := strings.ToLower(s.opts.Auth)
	switch auth {
	case "", AuthPlain, AuthLogin:
		password, err := s.secret(ctx, s.opts.Password, "password")
		if err != nil {
			return "", nil, err
		}
		if auth == AuthLogin || (!c.SupportsAuth("PLAIN") && c.SupportsAuth("LOGIN")) {
			return "LOGIN", sasl.NewLoginClient(s.opts.Username, password), nil
		}
		return "PLAIN", sasl.NewPlainClient("", s.opts.Username, password), nil
	case AuthXOAuth2:
		token, err := s.secret(ctx, s.opts.Token, "token")
		if err != nil {
			return "", nil, err
		}
		return "XOAUTH2", xoauth2.NewClient(s.opts.Username, token), nil
	case AuthOAuthBearer:
		token, err := s.secret(ctx, s.opts.Token, "token")
		if err != nil {
			return "", nil, err
		}
		return "OAUTHBEARER", sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{
			Username: s.opts.Username, Token: token, Host: s.opts.Host, Port: s.opts.Port,
		}), nil
	}
	return "", nil, fmt.Errorf("authenticate: unknown mechanism %q (want plain, login, xoauth2 or oauthbearer): %w: %w",
		s.opts.Auth, remote.ErrAuth, remote.ErrPermanent)
}

// secret calls fn for a password or token. Its error is wrapped, never its
// value.
func (s *Sender) secret(ctx context.Context, fn func(context.Context) (string, error), what string) (string, error) {
	if fn == nil {
		return "", fmt.Errorf("authenticate as %s: no %s configured: %w: %w",
			s.opts.Username, what, remote.ErrAuth, remote.ErrPermanent)
	}
	v, err := fn(ctx)
	if err != nil {
		return "", fmt.Errorf("authenticate as %s: get %s: %w", s.opts.Username, what, err)
	}
	return v, nil
}
