package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
)

// TestDovecotMount mounts a real Dovecot over STARTTLS and implicit TLS, with
// its private CA as tls_ca_file, and checks names, sizes, mtimes and bytes
// against what Dovecot holds, and that reading changed no flag.
func TestDovecotMount(t *testing.T) {
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			d := interop.StartDovecot(t, nil)
			before := time.Now().Add(-2 * time.Second)
			subjects := map[string]string{
				"INBOX":  "Dovecot says hello",
				"보관함":    "Stored in a Korean folder",
				"Travel": "=?UTF-8?Q?Z=C3=BCrich_trip?=",
			}
			decoded := map[string]string{"INBOX": "Dovecot-says-hello", "보관함": "Stored-in-a-Korean-folder", "Travel": "Zürich-trip"}
			for mb, subj := range subjects {
				if mb != "INBOX" {
					d.CreateMailbox(t, "alice", mb)
				}
				for i := 0; i < 3; i++ {
					msg := fmt.Sprintf("From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\nMessage-ID: <%s-%d@example.org>\r\n\r\nline one\r\n..dot-stuffed looking line %d\r\n", subj, mode, i, i)
					d.Deliver(t, "alice", mb, []byte(msg))
				}
			}
			after := time.Now().Add(2 * time.Second)
			flagsBefore := map[string]map[uint32][]string{}
			for mb := range subjects {
				flagsBefore[mb] = d.Flags(t, "alice", mb)
			}

			port := d.IMAPPort
			if mode == "implicit" {
				port = d.IMAPSPort
			}
			cfg := dovecotConfig(t, d, port, mode)
			mnt := t.TempDir()
			runMount(t, "mount", "-config", cfg, mnt)

			for mb := range subjects {
				want := d.Messages(t, "alice", mb)
				dir := filepath.Join(mnt, "dove", mb)
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatalf("ls %s: %v", dir, err)
				}
				if len(entries) != len(want) {
					t.Errorf("%s lists %d files, want %d", mb, len(entries), len(want))
				}
				for uid, body := range want {
					re := regexp.MustCompile(fmt.Sprintf(`^\d{4}-\d\d-\d\d_\d{4}_%s_%d\.eml$`, regexp.QuoteMeta(decoded[mb]), uid))
					i := slices.IndexFunc(entries, func(e os.DirEntry) bool { return re.MatchString(e.Name()) })
					if i < 0 {
						t.Errorf("%s: no file matching %s among %v", mb, re, entries)
						continue
					}
					p := filepath.Join(dir, entries[i].Name())
					st, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					if st.Size() != int64(len(body)) {
						t.Errorf("%s: size %d, want %d", p, st.Size(), len(body))
					}
					if st.ModTime().Before(before) || st.ModTime().After(after) {
						t.Errorf("%s: mtime %v, want the delivery time (between %v and %v)", p, st.ModTime(), before, after)
					}
					got, err := os.ReadFile(p)
					if err != nil || !bytes.Equal(got, body) {
						t.Errorf("%s: read %q, %v; want Dovecot's bytes %q", p, got, err, body)
					}
				}
			}
			for mb, fl := range flagsBefore {
				if got := d.Flags(t, "alice", mb); !equalFlags(got, fl) {
					t.Errorf("%s: flags changed by reading: before %v, after %v", mb, fl, got)
				}
			}
		})
	}
}

func equalFlags(a, b map[uint32][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for uid, fa := range a {
		fb := b[uid]
		sa, sb := slices.Clone(fa), slices.Clone(fb)
		slices.Sort(sa)
		slices.Sort(sb)
		if !slices.Equal(sa, sb) {
			return false
		}
	}
	return true
}

// TestDovecotCheck runs `mailfs check` against Dovecot with a good and a
// wrong password, and with the wrong CA.
func TestDovecotCheck(t *testing.T) {
	d := interop.StartDovecot(t, nil)
	cfg := func(password, caFile string) string {
		return writeConfig(t, `
[[accounts]]
name = "dove"
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "implicit"
  tls_ca_file = %q
  username = "alice"
  password = %q
`, d.IMAPSPort, caFile, password)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", cfg("secret", d.CAFile)}, &out, &out); code != 0 {
		t.Fatalf("check exited %d; output:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "INBOX") || !strings.Contains(out.String(), "IMAP4rev1") {
		t.Errorf("check output lacks INBOX or capabilities:\n%s", out.String())
	}

	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", cfg("wrong-pass-2718", d.CAFile)}, &out, &out); code == 0 {
		t.Fatalf("check with a wrong password exited 0:\n%s", out.String())
	}
	if strings.Contains(out.String(), "wrong-pass-2718") || !strings.Contains(out.String(), "authentication") {
		t.Errorf("wrong password: want an authentication error without the password, got:\n%s", out.String())
	}

	otherCA := filepath.Join(t.TempDir(), "other-ca.pem")
	other := interop.StartDovecot(t, nil) // a second instance has its own CA
	if err := os.WriteFile(otherCA, mustRead(t, other.CAFile), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", cfg("secret", otherCA)}, &out, &out); code == 0 {
		t.Fatalf("check trusting the wrong CA exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "certificate") {
		t.Errorf("wrong CA: want a certificate error, got:\n%s", out.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPostfixOutbox copies a message into outbox/ of a mount whose account
// sends through a real Postfix (STARTTLS, AUTH) that delivers to Dovecot over
// LMTP, and reads it back from the recipient's INBOX through the same mount.
// The Sent copy lands in Dovecot's special-use \Sent folder, flagged \Seen.
func TestPostfixOutbox(t *testing.T) {
	d := interop.StartDovecot(t, &interop.DovecotOptions{SpecialUse: true})
	p := interop.StartPostfix(t, &interop.PostfixOptions{Dovecot: d, AuthUsers: map[string]string{"alice": "secret"}, TLS: true})
	cfg := postfixConfig(t, d, p)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)

	body := "Grüße aus dem Outbox-Test.\r\n"
	msg := writeMessage(t, "note.eml", "To: Alice <alice@example.org>\r\nSubject: Through Postfix\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+body)
	if out, err := exec.Command("cp", msg, filepath.Join(mnt, "outbox")+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp note.eml outbox/: %v: %s", err, out)
	}
	inbox := filepath.Join(mnt, "dove", "INBOX")
	var arrived string
	eventually(t, 60*time.Second, "the message never showed up in dove/INBOX; postfix log:\n"+p.LogTail(20), func() bool {
		entries, err := os.ReadDir(inbox)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), "Through-Postfix") {
				arrived = filepath.Join(inbox, e.Name())
				return true
			}
		}
		return false
	})
	data, err := os.ReadFile(arrived)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte(body)) || !bytes.Contains(data, []byte("From: alice@example.org")) || !bytes.Contains(data, []byte("Message-ID: ")) {
		t.Errorf("delivered message lacks the body, the filled-in From: or a Message-ID:\n%s", data)
	}
	eventually(t, 30*time.Second, "no \\Seen copy in Dovecot's Sent folder", func() bool {
		for _, fl := range d.Flags(t, "alice", "Sent") {
			if slices.Contains(fl, `\Seen`) {
				return true
			}
		}
		return false
	})
}

// dovecotConfig writes a config mounting alice's mail on the Dovecot d as
// account "dove", at port with tls ("starttls" or "implicit"), trusting d's
// private CA, with a cache of its own.
func dovecotConfig(t *testing.T, d *interop.Dovecot, port int, tls string) string {
	t.Helper()
	return writeConfig(t, `
[cache]
dir = %q
[[accounts]]
name = "dove"
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = %q
  tls_ca_file = %q
  username = "alice"
  password = "secret"
`, t.TempDir(), port, tls, d.CAFile)
}

// postfixConfig writes a config mounting alice's mail on the Dovecot d as
// account "dove" (IMAPS) that sends through the Postfix p (STARTTLS and
// AUTH), trusting both private CAs, with a cache of its own.
func postfixConfig(t *testing.T, d *interop.Dovecot, p *interop.Postfix) string {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "cas.pem")
	if err := os.WriteFile(caFile, append(mustRead(t, d.CAFile), mustRead(t, p.CAFile)...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
[cache]
dir = %q
[[accounts]]
name = "dove"
addresses = ["alice@example.org"]
default = true
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "implicit"
  tls_ca_file = %q
  username = "alice"
  password = "secret"
  [accounts.smtp]
  host = "127.0.0.1"
  port = %d
  tls = "starttls"
  tls_ca_file = %q
  username = "alice"
  password = "secret"
`, t.TempDir(), d.IMAPSPort, caFile, p.Port, caFile)
	return cfg
}
