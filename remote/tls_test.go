package remote

import "testing"

func TestTLSModeString(t *testing.T) {
	for _, tc := range []struct {
		mode TLSMode
		want string
	}{
		{TLSImplicit, "implicit"},
		{TLSStartTLS, "starttls"},
		{TLSNone, "none"},
		{TLSMode(7), "TLSMode(7)"},
	} {
		if got := tc.mode.String(); got != tc.want {
			t.Errorf("TLSMode(%d).String(): got %q, want %q", int(tc.mode), got, tc.want)
		}
	}
}
