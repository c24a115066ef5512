package remote

import (
	"context"
	"errors"
	"testing"
)

func TestOpErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *OpError
		want string
	}{
		{
			&OpError{Protocol: "imap", Account: "work", Addr: "h:993", Op: `SELECT "INBOX"`, Kind: ErrNotFound,
				Detail: "server said NO", Hint: "check the name"},
			`imap account "work" (h:993): SELECT "INBOX": not found: server said NO (check the name)`,
		},
		{
			&OpError{Protocol: "pop3", Account: "home", Addr: "h:995", Op: "RETR 3", Cause: context.Canceled},
			`pop3 account "home" (h:995): RETR 3: context canceled`,
		},
		{
			&OpError{Protocol: "pop3", Account: "home", Addr: "h:995", Op: "connect", Kind: ErrUnavailable,
				Detail: "connection failed: refused", Cause: errors.New("refused")},
			`pop3 account "home" (h:995): connect: server unavailable: connection failed: refused`,
		},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestOpErrorUnwrap(t *testing.T) {
	cause := errors.New("cause")
	err := error(&OpError{Kind: ErrAuth, Cause: cause})
	if !errors.Is(err, ErrAuth) || !errors.Is(err, cause) {
		t.Errorf("got Is(ErrAuth) %v, Is(cause) %v; want both true", errors.Is(err, ErrAuth), errors.Is(err, cause))
	}
	if errors.Is(&OpError{}, ErrAuth) {
		t.Error("an OpError without Kind: got Is(ErrAuth) true, want false")
	}
}
