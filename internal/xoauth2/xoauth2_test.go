package xoauth2

import "testing"

func TestStart(t *testing.T) {
	for _, tc := range []struct{ user, token, want string }{
		{"me@example.org", "ya29.tok", "user=me@example.org\x01auth=Bearer ya29.tok\x01\x01"},
		{"alice@example.org", "tok", "user=alice@example.org\x01auth=Bearer tok\x01\x01"},
	} {
		mech, ir, err := NewClient(tc.user, tc.token).Start()
		if err != nil || mech != "XOAUTH2" || string(ir) != tc.want {
			t.Errorf("Start: got %q, %q, %v; want XOAUTH2, %q, nil", mech, ir, err, tc.want)
		}
	}
}

func TestNext(t *testing.T) {
	c := NewClient("alice@example.org", "tok")
	if f := c.Failure(); f != "" {
		t.Errorf("Failure before a challenge: got %q, want empty", f)
	}
	resp, err := c.Next([]byte(`{"status":"401"}` + "\n"))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Errorf("Next: got %q, %v; want an empty, non-nil response", resp, err)
	}
	if f := c.Failure(); f != `{"status":"401"}` {
		t.Errorf("Failure: got %q, want the JSON kept without white space", f)
	}
}
