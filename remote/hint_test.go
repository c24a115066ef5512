package remote

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestHintOf(t *testing.T) {
	inner := &OpError{Protocol: "imap", Op: "connect", Kind: ErrUnavailable, Detail: "d", Hint: "set tls"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), ""},
		{&OpError{Op: "x", Kind: ErrAuth}, ""},
		{inner, "set tls"},
		{fmt.Errorf("check: %w", inner), "set tls"},
		{&OpError{Op: "outer", Cause: inner}, "set tls"},
	} {
		if got := HintOf(tc.err); got != tc.want {
			t.Errorf("HintOf(%v): got %q, want %q", tc.err, got, tc.want)
		}
	}
	if n := strings.Count(inner.Error(), "set tls"); n != 1 {
		t.Errorf("%q: hint occurs %d times, want once", inner.Error(), n)
	}
}
