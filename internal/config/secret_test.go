package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := Parse([]byte(designExample), "c.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	pop := cfg.Accounts[1].POP3
	if got := pop.Password.Reveal(); got != examplePassword {
		t.Fatalf("Password: got %q, want %q", got, examplePassword)
	}
	var outputs []string
	for _, v := range []any{cfg, *cfg, cfg.Accounts, cfg.Accounts[1], *pop, pop, pop.Server, &pop.Server, pop.Password} {
		outputs = append(outputs, fmt.Sprintf("%v %+v %#v %s %q %x %X %d", v, v, v, v, v, v, v, v))
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		outputs = append(outputs, string(j))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "v", v)
		outputs = append(outputs, buf.String())
	}
	for _, out := range outputs {
		if strings.Contains(out, examplePassword) || strings.Contains(out, fmt.Sprintf("%x", examplePassword)) {
			t.Errorf("output reveals the password:\n%s", out)
		}
	}
	if got := fmt.Sprintf("%v|%#v|%q", pop.Password, pop.Password, pop.Password); got != `***|"***"|"***"` {
		t.Errorf("Secret formats: got %s, want ***|\"***\"|\"***\"", got)
	}
	if got := fmt.Sprint(Secret{}); got != "" {
		t.Errorf("empty Secret: got %q, want \"\"", got)
	}
}

func TestSecretFromPassword(t *testing.T) {
	s := &Server{Password: NewSecret("pw")}
	got, err := s.Secret(context.Background())
	if err != nil || got != "pw" {
		t.Errorf("Secret: got %q, %v, want \"pw\"", got, err)
	}
}

func TestSecretCommand(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, command, want string
	}{
		{"trailing newline", "printf 's3cret\\n'", "s3cret"},
		{"no newline", "printf 's3cret'", "s3cret"},
		{"CRLF", "printf 's3cret\\r\\n'", "s3cret"},
		{"first line only", "printf 's3cret\\nlogin: me\\n'", "s3cret"},
		{"spaces kept", "printf ' s3 cret \\n'", " s3 cret "},
		{"shell syntax", "echo s3 | tr 3 4", "s4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{PasswordCommand: tc.command}
			got, err := s.Secret(ctx)
			if err != nil || got != tc.want {
				t.Errorf("Secret: got %q, %v, want %q", got, err, tc.want)
			}
		})
	}
	t.Run("token", func(t *testing.T) {
		s := &Server{TokenCommand: "echo tok-123", Auth: AuthXOAuth2}
		got, err := s.TokenSecret(ctx)
		if err != nil || got != "tok-123" {
			t.Errorf("TokenSecret: got %q, %v, want \"tok-123\"", got, err)
		}
	})
}

func TestSecretCommandFailure(t *testing.T) {
	const leaked = "stdout-secret-XYZ"
	s := &Server{
		key:             `accounts[0] ("work").imap`,
		PasswordCommand: "echo " + leaked + "; echo 'gpg: decryption failed: No secret key' >&2; exit 3",
	}
	_, err := s.Secret(context.Background())
	if err == nil {
		t.Fatal("Secret: got no error, want one")
	}
	msg := err.Error()
	for _, want := range []string{`accounts[0] ("work").imap.password_command failed`, "exit status 3", "stderr: gpg: decryption failed: No secret key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q: want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, leaked) {
		t.Errorf("error %q reveals the command's stdout", msg)
	}
	if strings.Contains(msg, "echo") {
		t.Errorf("error %q reveals the command", msg)
	}
}

func TestSecretCommandStderrMasksStdout(t *testing.T) {
	s := &Server{key: "k", TokenCommand: "echo tok-ABCDEF; echo \"bad token tok-ABCDEF\" >&2; exit 1"}
	_, err := s.TokenSecret(context.Background())
	if err == nil || strings.Contains(err.Error(), "tok-ABCDEF") || !strings.Contains(err.Error(), "k.token_command failed") {
		t.Errorf("TokenSecret: got %v, want an error naming k.token_command, without tok-ABCDEF", err)
	}
}

func TestSecretCommandLongStderr(t *testing.T) {
	s := &Server{key: "k", PasswordCommand: "head -c 100000 /dev/zero | tr '\\0' e >&2; exit 1"}
	_, err := s.Secret(context.Background())
	if err == nil || len(err.Error()) > maxStderrShown+200 {
		t.Errorf("Secret: got %d-byte error, want one under %d bytes", len(fmt.Sprint(err)), maxStderrShown+200)
	}
}

func TestSecretCommandEmpty(t *testing.T) {
	s := &Server{key: "k", PasswordCommand: "true"}
	_, err := s.Secret(context.Background())
	if err == nil || !strings.Contains(err.Error(), "k.password_command printed nothing") {
		t.Errorf("Secret: got %v, want an error saying k.password_command printed nothing", err)
	}
}

func TestSecretCommandContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := &Server{key: "k", PasswordCommand: "exec sleep 30"}
	start := time.Now()
	_, err := s.Secret(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "k.password_command failed: stopped") {
		t.Errorf("Secret: got %v, want a stopped error wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Secret returned after %v, want soon after the context ended", d)
	}
}

func TestSecretMissing(t *testing.T) {
	s := &Server{Host: "h"}
	if _, err := s.Secret(context.Background()); err == nil {
		t.Error("Secret without password or command: got no error, want one")
	}
	if _, err := s.TokenSecret(context.Background()); err == nil {
		t.Error("TokenSecret without token_command: got no error, want one")
	}
}
