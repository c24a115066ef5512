package outbox

import (
	"errors"
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain reason", "plain reason"},
		{"a\x00b\tc\x7f", `a\x00b\x09c\x7f`},
		{"bad \xff byte, real \uFFFD", `bad \xff byte, real ` + "\uFFFD"},
		{strings.Repeat("é", 10), strings.Repeat("é", 10)},
		{strings.Repeat("é", 200), strings.Repeat("é", 100) + "… (400 bytes)"},
		{strings.Repeat("\x00", 4000), strings.Repeat(`\x00`, 50) + "… (16000 bytes)"},
	} {
		if got := excerpt(tc.in, maxReason); got != tc.want {
			t.Errorf("excerpt(%.20q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An editor's swap file (a header line of 4 KB of NULs) is refused with a
// short, readable reason in the error and in NAME.error.
func TestInvalidReasonIsShort(t *testing.T) {
	e := newEnv(t)
	msg := "To: bob@example.org\r\nSubject: x\r\n" + strings.Repeat("\x00", 4000) + "\r\n\r\nbody\r\n"
	_, err := e.commit("swap.eml", msg)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("commit of a message with a NUL line: %v, want ErrInvalid", err)
	}
	if len(err.Error()) > 2*(maxReason+150) || !strings.Contains(err.Error(), `\x00\x00…`) {
		t.Errorf("error: %d bytes %q, want a short one showing the NULs as \\x00", len(err.Error()), err)
	}
	failed := e.ob.Failed()
	if len(failed) != 1 {
		t.Fatalf("failed/: %v, want the swap file", names(failed))
	}
	reason, err := e.ob.FailedError(failed[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if line := strings.TrimSuffix(reason, "\n"); len(line) > maxReason+200 || strings.ContainsRune(line, 0) || strings.Contains(line, "\n") {
		t.Errorf("%s.error: %d bytes %q; want one short readable line", failed[0].Name, len(reason), reason)
	}
}
