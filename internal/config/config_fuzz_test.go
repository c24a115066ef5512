package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks the config loader on any bytes: it never panics, a
// config it accepts has an account, and every error it reports is an
// *Error that names a key or a line, never the example's password.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		designExample, minimal, "", "[[accounts]]", "accounts = []", "[accounts]\nname = 'a'\n",
		"filenames = 1\n" + minimal, "[cache]\nmax_size = '1.5e400GiB'\n" + minimal,
		"[cache]\nmax_size = -1\n" + minimal, "[cache]\ndir = '~'\n" + minimal,
		strings.Replace(minimal, `"a"`, `"a\u0000b"`, 1), strings.Replace(minimal, `"a"`, `"\xff"`, 1),
		minimal + minimal, "[[accounts]]\n[accounts.imap]\n[accounts.pop3]\n",
		"a = 1979-05-27T07:32:00Z\n", "x = [1, 'a']\n", "[[accounts]]\nname = 'a'\n[[accounts.imap]]\n",
		strings.Replace(designExample, `"60s"`, `"-1h"`, 1), strings.Replace(designExample, "port = 993", "port = 99999999999999", 1),
		strings.Replace(designExample, `max_connections = 4`, `max_connections = 1e3`, 1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := Parse([]byte(data), "/nonexistent/fuzz.toml")
		if err == nil {
			if cfg == nil || len(cfg.Accounts) == 0 {
				t.Fatalf("Parse(%q): got %+v and no error, want an account", data, cfg)
			}
			return
		}
		for _, e := range flatten(err) {
			var ce *Error
			if !errors.As(e, &ce) {
				t.Fatalf("Parse(%q): error %q is not an *Error", data, e)
			}
			if ce.Key == "" && ce.Line == 0 {
				t.Fatalf("Parse(%q): error %q names no key and no line", data, e)
			}
			if strings.Contains(e.Error(), examplePassword) {
				t.Fatalf("Parse(%q): error %q shows the password", data, e)
			}
		}
	})
}

// flatten returns the errors joined in err (err itself when it joins none).
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var all []error
		for _, e := range j.Unwrap() {
			all = append(all, flatten(e)...)
		}
		return all
	}
	return []error{err}
}
