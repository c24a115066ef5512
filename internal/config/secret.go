package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"
	"unicode"
)

// redacted is what a Secret prints as.
const redacted = "***"

// Secret holds a password that never prints: fmt (every verb, %#v and
// fmt's own "%!verb(...)" error output included), log/slog, encoding/json and
// other encoding.TextMarshaler users all see "***" (or "" when the Secret is
// empty, so that "unset" stays visible). Call Reveal where the value is
// really needed, and nowhere else.
//
// It is a struct holding a pointer rather than a string type because fmt
// prints a value without calling its methods in some paths (a bad verb on a
// neighbouring field: %s of a struct with a bool in it), and a nested
// pointer then prints as an address, never as the text behind it.
type Secret struct {
	p *string
}

// NewSecret returns a Secret holding s; NewSecret("") is the zero Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the secret text ("" for the zero Secret).
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the Secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// String returns "***", or "" for an empty Secret.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// GoString returns the quoted String, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format prints the String for every verb (quoted for %q and %#v), so no
// verb, such as %x, can print the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// MarshalText returns the String, for encoding/json, encoding/xml and TOML.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue returns the String, for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Limits on a password_command or token_command.
const (
	// CommandTimeout bounds how long a secret command may run.
	CommandTimeout = 30 * time.Second
	// maxCommandOutput bounds what is read from a secret command's stdout.
	maxCommandOutput = 64 << 10
	// maxStderrShown bounds the stderr quoted in an error.
	maxStderrShown = 512
)

// Secret returns the password: Password when set, otherwise the first line
// of what PasswordCommand prints (see TokenSecret for how it is run).
func (s *Server) Secret(ctx context.Context) (string, error) {
	if !s.Password.IsZero() {
		return s.Password.Reveal(), nil
	}
	if s.PasswordCommand == "" {
		return "", fmt.Errorf("%s: no password or password_command", s.name())
	}
	return runSecretCommand(ctx, s.name()+".password_command", s.PasswordCommand)
}

// TokenSecret returns an OAuth access token: the first line of what
// TokenCommand prints. The command runs with `sh -c`, stdin from /dev/null,
// for at most CommandTimeout or until ctx ends. A failure's error names the
// account and key, the exit status and the command's stderr (shortened),
// but never the command's stdout.
func (s *Server) TokenSecret(ctx context.Context) (string, error) {
	if s.TokenCommand == "" {
		return "", fmt.Errorf("%s: no token_command", s.name())
	}
	return runSecretCommand(ctx, s.name()+".token_command", s.TokenCommand)
}

// runSecretCommand runs command and returns the first line of its output.
// key names the setting in errors.
func runSecretCommand(parent context.Context, key, command string) (string, error) {
	ctx, cancel := context.WithTimeout(parent, CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	stdout := &limitedBuffer{max: maxCommandOutput}
	stderr := &limitedBuffer{max: 4 * maxStderrShown}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A child that keeps the pipes open (an agent, say) must not hold Wait.
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	out := stdout.buf.Bytes()
	if err != nil {
		var exitErr *exec.ExitError
		var msg string
		switch {
		case parent.Err() != nil:
			err = fmt.Errorf("stopped: %w", parent.Err())
		case ctx.Err() != nil:
			err = fmt.Errorf("did not finish within %v: %w", CommandTimeout, ctx.Err())
		case errors.As(err, &exitErr):
			// "exit status 1", "signal: killed"; no stdout in it.
			err = errors.New(exitErr.ProcessState.String())
		}
		if e := quoteStderr(stderr.buf.Bytes(), out); e != "" {
			msg = ": " + e
		}
		return "", fmt.Errorf("%s failed: %w%s", key, err, msg)
	}
	if stdout.overflow {
		return "", fmt.Errorf("%s printed more than %d bytes; it should print only the secret", key, maxCommandOutput)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", fmt.Errorf("%s printed nothing on its first line (want the secret there)", key)
	}
	return string(line), nil
}

// quoteStderr makes a command's stderr fit an error message: whitespace
// runs become one space, control characters go, any line of stdout that
// shows up in it is masked, and it is cut to maxStderrShown bytes.
func quoteStderr(stderr, stdout []byte) string {
	s := string(stderr)
	for _, l := range strings.Split(string(stdout), "\n") {
		if l = strings.TrimSpace(l); len(l) >= 4 {
			s = strings.ReplaceAll(s, l, redacted)
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) > maxStderrShown {
		cut := maxStderrShown
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return ""
	}
	return "stderr: " + s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

// Write keeps what fits and always reports success, so the command is not
// killed by a broken pipe.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:max(room, 0)])
		b.overflow = true
		return len(p), nil
	}
	return b.buf.Write(p)
}
