package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDesignExample(t *testing.T) {
	got, err := Parse([]byte(designExample), "/etc/mailfs.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Config{
		Filenames: "descriptive",
		Cache:     CacheConfig{Dir: "/home/me/.cache/mailfs", MaxSize: 2 << 30},
		Outbox:    OutboxConfig{SendDelay: DefaultSendDelay},
		Path:      "/etc/mailfs.toml",
		Accounts: []Account{
			{
				Name:      "work",
				Addresses: []string{"me@work.example"},
				Default:   true,
				IMAP: &IMAP{
					Server: Server{
						Host: "imap.work.example", Port: 993, TLS: "implicit",
						Username: "me", PasswordCommand: "pass show mail/work", Auth: "plain",
						key: `accounts[0] ("work").imap`,
					},
					IdleFolders:    []string{"INBOX"},
					PollInterval:   60 * time.Second,
					MaxConnections: 4,
					Delete:         "trash",
					MaxDeletes:     100,
				},
				SMTP: &SMTP{Server: Server{
					Host: "smtp.work.example", Port: 587, TLS: "starttls",
					Username: "me", PasswordCommand: "pass show mail/work", Auth: "plain",
					key: `accounts[0] ("work").smtp`,
				}},
			},
			{
				Name:      "old-isp",
				Addresses: []string{"me@old-isp.example"},
				POP3: &POP3{
					Server: Server{
						Host: "pop.old-isp.example", Port: 995, TLS: "implicit",
						Username: "me", Password: NewSecret(examplePassword), Auth: "plain",
						key: `accounts[1] ("old-isp").pop3`,
					},
					LeaveOnServer: true,
					PollInterval:  5 * time.Minute,
				},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(design example):\ngot  %#v\nwant %#v", got, want)
		for i := range want.Accounts {
			if i < len(got.Accounts) {
				t.Errorf("account %d:\ngot  %+v %+v %+v %+v\nwant %+v %+v %+v %+v", i,
					got.Accounts[i], got.Accounts[i].IMAP, got.Accounts[i].POP3, got.Accounts[i].SMTP,
					want.Accounts[i], want.Accounts[i].IMAP, want.Accounts[i].POP3, want.Accounts[i].SMTP)
			}
		}
	}
	if d := got.DefaultAccount(); d == nil || d.Name != "work" {
		t.Errorf("DefaultAccount() = %v, want work", d)
	}
	if a := got.AccountFor("ME@Old-ISP.example"); a == nil || a.Name != "old-isp" {
		t.Errorf("AccountFor(ME@Old-ISP.example) = %v, want old-isp", a)
	}
	if a := got.AccountFor("nobody@example.com"); a != nil {
		t.Errorf("AccountFor(nobody@example.com) = %q, want nil", a.Name)
	}
}

func TestParseDefaults(t *testing.T) {
	const in = `
[[accounts]]
name = "i"
  [accounts.imap]
  host = "imap.example.com"
  tls = "starttls"
  username = "u"
  password = "p"
  [accounts.smtp]
  host = "smtp.example.com"
  username = "u"
  password = "p"

[[accounts]]
name = "p"
  [accounts.pop3]
  host = "pop.example.com"
  tls = "starttls"
  username = "u"
  password_command = "echo p"
  [accounts.smtp]
  host = "smtp.example.com"
  tls = "implicit"
  username = "u"
  auth = "xoauth2"
  token_command = "echo t"
`
	cfg, err := Parse([]byte(in), "defaults.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("filenames", cfg.Filenames, "descriptive")
	check("cache.max_size", cfg.Cache.MaxSize, int64(2<<30))
	check("cache.dir", cfg.Cache.Dir, "")
	im := cfg.Accounts[0].IMAP
	check("imap port with starttls", im.Port, 143)
	check("imap auth", im.Auth, "plain")
	check("imap idle_folders", im.IdleFolders, []string{"INBOX"})
	check("imap poll_interval", im.PollInterval, time.Minute)
	check("imap max_connections", im.MaxConnections, 4)
	check("imap delete", im.Delete, "trash")
	check("imap max_deletes", im.MaxDeletes, 100)
	check("imap sent copy disabled", im.SentCopyDisabled(), false)
	sm := cfg.Accounts[0].SMTP
	check("smtp tls", sm.TLS, "starttls")
	check("smtp port", sm.Port, 587)
	po := cfg.Accounts[1].POP3
	check("pop3 port with starttls", po.Port, 110)
	check("pop3 leave_on_server", po.LeaveOnServer, true)
	check("pop3 poll_interval", po.PollInterval, 5*time.Minute)
	check("pop3 protocol", cfg.Accounts[1].Protocol(), "pop3")
	check("imap protocol", cfg.Accounts[0].Protocol(), "imap")
	check("smtp implicit port", cfg.Accounts[1].SMTP.Port, 465)
	check("default account", cfg.DefaultAccount(), (*Account)(nil))
}

func TestParseExplicitValues(t *testing.T) {
	const in = `
filenames = "uid"
[cache]
max_size = 1048576
[[accounts]]
name = "a"
  [accounts.imap]
  host = "::1"
  tls = "none"
  username = "me"
  password = "pw"
  idle_folders = []
  poll_interval = "1s"
  max_connections = 1
  delete = "expunge"
  sent_folder = "-"
  trash_folder = "Bin"
  max_deletes = 5000
  new_mail_command = "notify-send mail"
[[accounts]]
name = "b"
  [accounts.pop3]
  host = "localhost"
  tls = "none"
  username = "me"
  password = "pw"
  leave_on_server = false
  poll_interval = "10s"
`
	cfg, err := Parse([]byte(in), "x.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	im, po := cfg.Accounts[0].IMAP, cfg.Accounts[1].POP3
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"filenames", cfg.Filenames, "uid"},
		{"max_size", cfg.Cache.MaxSize, int64(1 << 20)},
		{"imap port with tls none", im.Port, 143},
		{"imap addr", im.Addr(), "[::1]:143"},
		{"idle_folders", im.IdleFolders, []string{}},
		{"poll_interval", im.PollInterval, time.Second},
		{"max_connections", im.MaxConnections, 1},
		{"delete", im.Delete, "expunge"},
		{"sent copy disabled", im.SentCopyDisabled(), true},
		{"trash_folder", im.TrashFolder, "Bin"},
		{"max_deletes", im.MaxDeletes, 5000},
		{"new_mail_command", im.NewMailCommand, "notify-send mail"},
		{"leave_on_server", po.LeaveOnServer, false},
		{"pop3 poll_interval", po.PollInterval, 10 * time.Second},
		{"pop3 addr", po.Addr(), "localhost:110"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

// account wraps server tables in an [[accounts]] entry named "work".
func account(body string) string {
	return "[[accounts]]\nname = \"work\"\n" + body
}

// imapServer is a valid [accounts.imap] table plus extra keys.
func imapServer(extra string) string {
	return account("[accounts.imap]\nhost = \"imap.example.com\"\nusername = \"me\"\npassword = \"pw\"\n" + extra)
}

func TestParseErrors(t *testing.T) {
	const w = `accounts[0] ("work")`
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"syntax", "[[accounts]]\nname = \"a\"\n[accounts.imap\n", []string{"bad.toml: line 4, column", "expected '.' or ']'"}},
		{"duplicate key", "[[accounts]]\nname = 'a'\nname = 'b'\n", []string{"line 3", "already been defined"}},
		{"no accounts", `filenames = "uid"`, []string{"accounts: no account"}},
		{"empty accounts", `accounts = []`, []string{"accounts: no account"}},
		{"accounts not array", "[accounts]\nname = 'a'\n", []string{"accounts: want an array of tables ([[accounts]]), got a table"}},
		{"unknown top key", "filename = 'uid'\n" + minimal, []string{"filename: unknown key (did you mean filenames?)"}},
		{"unknown server key", imapServer("hostt = 'x'\n"), []string{w + ".imap.hostt: unknown key (did you mean host?)"}},
		{"unknown account key", account("nme = 'x'\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ".nme: unknown key"}},
		{"unknown cache key", "[cache]\nsize = '1GiB'\n" + minimal, []string{"cache.size: unknown key"}},
		{"unknown outbox key", "[outbox]\nallow_unknown = true\n" + minimal, []string{"outbox.allow_unknown: unknown key"}},
		{"outbox key type", "[outbox]\nallow_received = 'yes'\n" + minimal, []string{"outbox.allow_received: want true or false, got a string"}},
		{"unknown table", account("[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n[accounts.jmap]\nhost='h'\n"), []string{w + ".jmap: unknown key"}},
		{"filenames", "filenames = 'long'\n" + minimal, []string{`filenames: "long" is not one of descriptive, uid`}},
		{"filenames type", "filenames = 1\n" + minimal, []string{"filenames: want a string, got an integer"}},
		{"max_size unit", "[cache]\nmax_size = '2GB!'\n" + minimal, []string{"cache.max_size", "is not a size"}},
		{"max_size zero", "[cache]\nmax_size = 0\n" + minimal, []string{"cache.max_size: must be more than 0"}},
		{"max_size type", "[cache]\nmax_size = true\n" + minimal, []string{"cache.max_size: want a size"}},
		{"cache dir relative", "[cache]\ndir = 'cache'\n" + minimal, []string{`cache.dir: "cache" is not an absolute path`}},
		{"no name", "[[accounts]]\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n", []string{"accounts[0].name: missing"}},
		{"name type", "[[accounts]]\nname = 5\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n", []string{"accounts[0].name: want a string, got an integer"}},
		{"empty name", strings.Replace(minimal, `"a"`, `""`, 1), []string{`accounts[0] ("").name: is empty`}},
		{"slash name", strings.Replace(minimal, `"a"`, `"a/b"`, 1), []string{`.name: "a/b" contains "/"`}},
		{"dot name", strings.Replace(minimal, `"a"`, `".."`, 1), []string{`.name: ".." cannot be a directory name`}},
		{"outbox name", strings.Replace(minimal, `"a"`, `"outbox"`, 1), []string{`.name: "outbox" is reserved for the outbox`}},
		{"control name", strings.Replace(minimal, `"a"`, `"a\tb"`, 1), []string{`.name: "a\tb" contains a control character`}},
		{"long name", strings.Replace(minimal, `"a"`, `"`+strings.Repeat("x", 256)+`"`, 1), []string{".name: is 256 bytes long"}},
		{"duplicate name", minimal + minimal, []string{`accounts[1] ("a").name: "a" is already the name of accounts[0]`}},
		{"both imap and pop3", imapServer("[accounts.pop3]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ": has both [accounts.imap] and [accounts.pop3]"}},
		{"neither imap nor pop3", account("[accounts.smtp]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ": has neither"}},
		{"bad address", account("addresses = ['not an address']\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + `.addresses[0]: "not an address" is not a mail address`}},
		{"named address", account("addresses = ['Me <me@x.example>']\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + `.addresses[0]: "Me <me@x.example>": write only the address, such as me@x.example`}},
		{"addresses type", account("addresses = 'me@x.example'\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ".addresses: want an array of strings, got a string"}},
		{"duplicate address", strings.Replace(minimal, "\n  [accounts.imap]", "\naddresses = ['me@x.example']\n  [accounts.imap]", 1) +
			strings.Replace(strings.Replace(minimal, `"a"`, `"b"`, 1), "\n  [accounts.imap]", "\naddresses = ['ME@x.example']\n  [accounts.imap]", 1),
			[]string{`accounts[1] ("b").addresses[0]: "ME@x.example" is already an address of accounts[0]`}},
		{"two defaults", strings.Replace(designExample, `addresses = ["me@old-isp.example"]`, "addresses = [\"me@old-isp.example\"]\ndefault = true", 1),
			[]string{`accounts[1] ("old-isp").default: accounts[0] is already the default`}},
		{"default without smtp", account("addresses=['me@x.example']\ndefault = true\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ".default: the default account", "needs [accounts.smtp]"}},
		{"default type", account("default = 'yes'\n[accounts.imap]\nhost='h'\nusername='u'\npassword='p'\n"), []string{w + ".default: want true or false, got a string"}},
		{"no host", account("[accounts.imap]\nusername='u'\npassword='p'\n"), []string{w + ".imap.host: missing"}},
		{"host with port", account("[accounts.imap]\nhost='imap.example.com:993'\nusername='u'\npassword='p'\n"), []string{w + `.imap.host: "imap.example.com:993": give the port in port`}},
		{"host with brackets", account("[accounts.imap]\nhost='[::1]'\nusername='u'\npassword='p'\n"), []string{w + `.imap.host: "[::1]": write an IPv6 address without brackets`}},
		{"tls", imapServer("tls = 'ssl'\n"), []string{w + `.imap.tls: "ssl" is not one of implicit, starttls, none`}},
		{"tls none remote", imapServer("tls = 'none'\n"), []string{w + `.imap.tls: "none" would send the password in clear`, "only for a loopback host"}},
		{"tls none smtp remote", imapServer("[accounts.smtp]\nhost='10.0.0.1'\ntls='none'\nusername='u'\npassword='p'\n"), []string{w + `.smtp.tls: "none"`}},
		{"port range", imapServer("port = 0\n"), []string{w + ".imap.port: 0 is out of range 1..65535"}},
		{"port high", imapServer("port = 65536\n"), []string{w + ".imap.port: 65536 is out of range"}},
		{"port type", imapServer("port = '993'\n"), []string{w + ".imap.port: want an integer, got a string"}},
		{"no username", account("[accounts.imap]\nhost='h'\npassword='p'\n"), []string{w + ".imap.username: missing"}},
		{"no password", account("[accounts.imap]\nhost='h'\nusername='u'\n"), []string{w + ".imap.password: missing: set password_command"}},
		{"both passwords", imapServer("password_command = 'pass x'\n"), []string{w + ".imap.password: both password and password_command are set"}},
		{"auth", imapServer("auth = 'cram-md5'\n"), []string{w + `.imap.auth: "cram-md5" is not one of plain, login, xoauth2, oauthbearer`}},
		{"oauth without token", account("[accounts.imap]\nhost='h'\nusername='u'\nauth='xoauth2'\n"), []string{w + `.imap.token_command: missing: auth = "xoauth2" needs`}},
		{"oauth with password", imapServer("auth = 'oauthbearer'\ntoken_command = 'x'\n"), []string{w + `.imap.password: is not used with auth = "oauthbearer"`}},
		{"token without oauth", imapServer("token_command = 'x'\n"), []string{w + `.imap.token_command: is used only with auth = "xoauth2" or "oauthbearer"`}},
		{"ca file missing", imapServer("tls_ca_file = '/nonexistent/ca.pem'\n"), []string{w + ".imap.tls_ca_file:", "/nonexistent/ca.pem", "no such file"}},
		{"poll_interval short", imapServer("poll_interval = '500ms'\n"), []string{w + ".imap.poll_interval: 500ms is too short: at least 1s"}},
		{"poll_interval integer", imapServer("poll_interval = 60\n"), []string{w + `.imap.poll_interval: want a duration string such as "60s"`}},
		{"poll_interval bad", imapServer("poll_interval = 'often'\n"), []string{w + `.imap.poll_interval: "often" is not a duration`}},
		{"max_connections", imapServer("max_connections = 33\n"), []string{w + ".imap.max_connections: 33 is out of range 1..32"}},
		{"max_deletes", imapServer("max_deletes = 0\n"), []string{w + ".imap.max_deletes: 0 is out of range 1..1000000"}},
		{"idle needs connections", imapServer("max_connections = 2\nidle_folders = ['INBOX', 'Lists']\n"), []string{w + ".imap.idle_folders: 2 folders watched with IDLE", "raise max_connections to 3"}},
		{"idle folder empty", imapServer("idle_folders = ['']\n"), []string{w + ".imap.idle_folders[0]: is empty"}},
		{"idle folder twice", imapServer("idle_folders = ['INBOX', 'INBOX']\n"), []string{w + `.imap.idle_folders[1]: "INBOX" is listed twice`}},
		{"idle folder type", imapServer("idle_folders = ['INBOX', 3]\n"), []string{w + ".imap.idle_folders[1]: want a string, got an integer"}},
		{"delete", imapServer("delete = 'purge'\n"), []string{w + `.imap.delete: "purge" is not one of trash, expunge`}},
		{"pop3 poll short", account("[accounts.pop3]\nhost='h'\nusername='u'\npassword='p'\npoll_interval='5s'\n"), []string{w + ".pop3.poll_interval: 5s is too short: at least 10s"}},
		{"pop3 leave type", account("[accounts.pop3]\nhost='h'\nusername='u'\npassword='p'\nleave_on_server='no'\n"), []string{w + ".pop3.leave_on_server: want true or false"}},
		{"pop3 imap-only key", account("[accounts.pop3]\nhost='h'\nusername='u'\npassword='p'\nidle_folders=['INBOX']\n"), []string{w + ".pop3.idle_folders: unknown key"}},
		{"smtp imap-only key", imapServer("[accounts.smtp]\nhost='h'\nusername='u'\npassword='p'\ndelete='trash'\n"), []string{w + ".smtp.delete: unknown key"}},
		{"password not a string", account("[accounts.imap]\nhost='h'\nusername='u'\npassword=987654321\n"), []string{w + ".imap.password: want a string, got an integer"}},
		{"imap not a table", account("imap = 'imap.example.com'\n"), []string{w + ".imap: want a table, got a string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.in), "bad.toml")
			if err == nil {
				t.Fatalf("Parse: got no error (config %+v), want one containing %q", cfg, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "config bad.toml: ") {
				t.Errorf("error %q: want prefix %q", err, "config bad.toml: ")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("errors.As(%v, *Error) = false, want true", err)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	in := imapServer("tls = 'ssl'\nport = 0\nhostt = 1\n")
	_, err := Parse([]byte(in), "bad.toml")
	if err == nil {
		t.Fatal("Parse: got no error, want three")
	}
	for _, w := range []string{".imap.tls:", ".imap.port:", ".imap.hostt:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, w)
		}
	}
	if n := strings.Count(err.Error(), "config bad.toml: "); n != 3 {
		t.Errorf("got %d problems in\n%v\nwant 3", n, err)
	}
}

func TestParseSyntaxErrorPosition(t *testing.T) {
	_, err := Parse([]byte("filenames = \"uid\"\nfilenames ==\n"), "s.toml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse: got %v, want an *Error", err)
	}
	if ce.Line != 2 || ce.Column == 0 {
		t.Errorf("position: got line %d column %d, want line 2 and a column", ce.Line, ce.Column)
	}
}

func TestParseCAFileRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, filepath.Join(dir, "ca.pem"))
	cfg, err := Parse([]byte(imapServer("tls_ca_file = 'ca.pem'\n")), filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := cfg.Accounts[0].IMAP.TLSCAFile, filepath.Join(dir, "ca.pem"); got != want {
		t.Errorf("TLSCAFile: got %q, want %q", got, want)
	}
}

func TestParseExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	writeCA(t, filepath.Join(home, "ca.pem"))
	in := "[cache]\ndir = '~/mail-cache'\n" + imapServer("tls_ca_file = '~/ca.pem'\n")
	cfg, err := Parse([]byte(in), "/etc/c.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := cfg.Cache.Dir, filepath.Join(home, "mail-cache"); got != want {
		t.Errorf("cache.dir: got %q, want %q", got, want)
	}
	if got, want := cfg.Accounts[0].IMAP.TLSCAFile, filepath.Join(home, "ca.pem"); got != want {
		t.Errorf("tls_ca_file: got %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")

	t.Run("missing", func(t *testing.T) {
		_, _, err := Load(filepath.Join(dir, "nope.toml"))
		want := "no config at " + filepath.Join(dir, "nope.toml") + ": create it (see README) or pass -config FILE"
		if err == nil || err.Error() != want {
			t.Errorf("Load(missing): got %v, want %q", err, want)
		}
	})
	t.Run("private", func(t *testing.T) {
		if err := os.WriteFile(path, []byte(designExample), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, warnings, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if cfg.Path != path {
			t.Errorf("Path: got %q, want %q", cfg.Path, path)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings: got %q, want none", warnings)
		}
	})
	t.Run("readable by others", func(t *testing.T) {
		if err := os.WriteFile(path, []byte(designExample), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		_, warnings, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "chmod 600 "+path) || !strings.Contains(warnings[0], "holds a password") {
			t.Errorf("warnings: got %q, want one telling to chmod 600 %s", warnings, path)
		}
		if strings.Contains(strings.Join(warnings, ""), examplePassword) {
			t.Errorf("warning %q reveals the password", warnings)
		}
	})
	t.Run("readable but no password", func(t *testing.T) {
		noPW := strings.Replace(designExample, `password = "`+examplePassword+`"`, `password_command = "pass x"`, 1)
		if err := os.WriteFile(path, []byte(noPW), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		_, warnings, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings: got %q, want none (no password in the file)", warnings)
		}
	})
	t.Run("default path", func(t *testing.T) {
		xdg := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", xdg)
		p := filepath.Join(xdg, "mailfs", "config.toml")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(minimal), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Load("")
		if err != nil {
			t.Fatalf("Load(\"\"): %v", err)
		}
		if cfg.Path != p {
			t.Errorf("Path: got %q, want %q", cfg.Path, p)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("filenames = 'x'\n"+minimal), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path)
		want := "config " + path + `: filenames: "x" is not one of descriptive, uid`
		if err == nil || err.Error() != want {
			t.Errorf("Load: got %v, want %q", err, want)
		}
	})
}

func TestParseErrorNeverShowsPassword(t *testing.T) {
	for _, in := range []string{
		account("[accounts.imap]\nhost='h'\nusername='u'\npassword=987654321\n"),
		account("[accounts.imap]\nhost='h'\nusername='u'\npassword='987654321'\npassword_command='x'\n"),
		account("[accounts.imap]\nhost='h'\nusername='u'\npassword='987654321'\nauth='xoauth2'\ntoken_command='t'\n"),
		account("[accounts.imap]\nhost='h'\nusername='u'\npassword='987654321'\ntls='none'\n"),
	} {
		_, err := Parse([]byte(in), "c.toml")
		if err == nil || strings.Contains(err.Error(), "987654321") {
			t.Errorf("Parse(%q): got %v, want an error without the password", in, err)
		}
	}
}

func TestParseOutbox(t *testing.T) {
	cfg, err := Parse([]byte("[outbox]\nallow_unknown_from = true\nallow_received = true\nsend_delay = \"0s\"\n"+minimal), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Outbox.AllowUnknownFrom || !cfg.Outbox.AllowReceived || cfg.Outbox.SendDelay != 0 {
		t.Errorf("[outbox]: got %+v, want both on and no send delay", cfg.Outbox)
	}
	cfg, err = Parse([]byte(minimal), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Outbox.AllowUnknownFrom || cfg.Outbox.AllowReceived || cfg.Outbox.SendDelay != DefaultSendDelay {
		t.Errorf("no [outbox]: got %+v, want both off and a send delay of %v", cfg.Outbox, DefaultSendDelay)
	}
	for _, bad := range []string{`"-1s"`, `"2h"`, `"soon"`} {
		_, err := Parse([]byte("[outbox]\nsend_delay = "+bad+"\n"+minimal), "c.toml")
		if err == nil || !strings.Contains(err.Error(), "outbox.send_delay") {
			t.Errorf("send_delay = %s: got %v, want an error naming outbox.send_delay", bad, err)
		}
	}
}
