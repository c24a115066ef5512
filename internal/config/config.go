// Package config owns mailfs's configuration: the TOML schema, its defaults
// and validation, where the config, cache and data directories live, and
// the small helpers that turn a server's settings into what a protocol
// client needs (a dial address, a tls.Config, a password or OAuth token).
//
// Load reads and validates a file; Parse does the same for bytes. Both are
// strict: unknown keys, wrong types and bad values are errors that name the
// key with its account, such as
//
//	config /home/me/.config/mailfs/config.toml: accounts[1] ("work").imap.tls: "ssl" is not one of implicit, starttls, none
//
// Every problem in a file is reported at once (joined with errors.Join), each
// as an *Error. TOML syntax errors carry a line and column. Other errors name
// the key path instead of a line: BurntSushi/toml v1.6.0 records a key's
// position by its dotted name, so inside [[accounts]] it reports the line of
// the last account's key, which is wrong for every other account.
//
// Choices beyond the schema, documented for the README: an empty string
// means "not set" for every optional key (as in the DESIGN example, where
// token_command = ""); cache.max_size defaults to 2GiB and takes a number of
// bytes or a string with a unit (KB/MB/GB/TB are powers of 1000,
// KiB/MiB/GiB/TiB powers of 1024, fractions allowed); durations are strings
// ("60s", "5m"), never bare integers; a leading ~ is expanded in cache.dir
// and tls_ca_file, and a relative tls_ca_file is taken relative to the
// config file; addresses are bare (me@example.com, no display name) and
// unique across accounts without regard to case; the account name "outbox"
// is refused in any case; the default account needs [accounts.smtp] and an
// address; an IMAP account needs one connection per idle folder plus one,
// within max_connections; password_command and token_command contribute
// the first line of their output.
//
// Secrets (password) are held in a Secret, which prints as "***" through
// fmt, log/slog, encoding/json and encoding.TextMarshaler, so that logging a
// Config, an Account or a Server never reveals one.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Values of Config.Filenames.
const (
	// FilenamesDescriptive names message files DATE_TIME_SUBJECT_UID.eml.
	FilenamesDescriptive = "descriptive"
	// FilenamesUID names message files UID.eml.
	FilenamesUID = "uid"
)

// Values of Server.TLS.
const (
	// TLSImplicit starts TLS as soon as the connection is open (ports 993, 995, 465).
	TLSImplicit = "implicit"
	// TLSStartTLS upgrades a plain connection with STARTTLS/STLS before logging in.
	TLSStartTLS = "starttls"
	// TLSNone sends everything in clear; allowed only for a loopback host.
	TLSNone = "none"
)

// Values of Server.Auth.
const (
	// AuthPlain is SASL PLAIN (or IMAP LOGIN / POP3 USER+PASS) with the password.
	AuthPlain = "plain"
	// AuthLogin is SASL LOGIN with the password.
	AuthLogin = "login"
	// AuthXOAuth2 is SASL XOAUTH2 with a token from TokenCommand.
	AuthXOAuth2 = "xoauth2"
	// AuthOAuthBearer is SASL OAUTHBEARER with a token from TokenCommand.
	AuthOAuthBearer = "oauthbearer"
)

// Values of IMAP.Delete.
const (
	// DeleteTrash moves a removed message to the Trash folder.
	DeleteTrash = "trash"
	// DeleteExpunge marks a removed message \Deleted and expunges it.
	DeleteExpunge = "expunge"
)

// SentFolderNone as IMAP.SentFolder disables the copy of sent mail.
const SentFolderNone = "-"

// Defaults applied by Parse where the file is silent.
const (
	// DefaultSendDelay is outbox.send_delay when absent.
	DefaultSendDelay = 5 * time.Second
	// MaxSendDelay bounds outbox.send_delay (drafts/ is for longer).
	MaxSendDelay = time.Hour
	// DefaultMaxCacheSize is cache.max_size when absent: 2 GiB.
	DefaultMaxCacheSize int64 = 2 << 30
	// DefaultMaxDeletes is imap.max_deletes when absent.
	DefaultMaxDeletes = 100
	// MaxMaxDeletes is the largest imap.max_deletes accepted.
	MaxMaxDeletes = 1_000_000
	// DefaultIMAPPollInterval is imap.poll_interval when absent.
	DefaultIMAPPollInterval = 60 * time.Second
	// MinIMAPPollInterval is the smallest imap.poll_interval accepted.
	MinIMAPPollInterval = time.Second
	// DefaultIMAPMaxConnections is imap.max_connections when absent.
	DefaultIMAPMaxConnections = 4
	// MaxIMAPMaxConnections is the largest imap.max_connections accepted.
	MaxIMAPMaxConnections = 32
	// DefaultPOP3PollInterval is pop3.poll_interval when absent.
	DefaultPOP3PollInterval = 5 * time.Minute
	// MinPOP3PollInterval is the smallest pop3.poll_interval accepted.
	MinPOP3PollInterval = 10 * time.Second
)

// OutboxName is the directory at the top of the mount that holds the outbox;
// no account may take this name.
const OutboxName = "outbox"

// Config is a validated configuration with every default filled in.
type Config struct {
	// Filenames is FilenamesDescriptive or FilenamesUID.
	Filenames string
	// Cache holds the [cache] settings.
	Cache CacheConfig
	// Outbox holds the [outbox] settings.
	Outbox OutboxConfig
	// Accounts are the [[accounts]] in file order; there is at least one.
	Accounts []Account
	// Path is the file the config came from (the name given to Parse).
	Path string
}

// OutboxConfig is the [outbox] table: how long a message waits in
// outbox/ before it is sent, and what the outbox sends although it looks
// like a mistake (both off by default).
type OutboxConfig struct {
	// SendDelay is how long a message written into outbox/ stays an
	// ordinary file that a rewrite replaces and rm cancels before it is
	// sent (send_delay; DefaultSendDelay when absent, 0 sends at close).
	SendDelay time.Duration
	// AllowUnknownFrom sends a message whose From: no account owns through
	// the default account (allow_unknown_from).
	AllowUnknownFrom bool
	// AllowReceived sends a message that has a Received: header, one a
	// mail server delivered, copied back in (allow_received).
	AllowReceived bool
}

// CacheConfig is the [cache] table.
type CacheConfig struct {
	// Dir is the cache directory with a leading ~ expanded, or "" for the
	// default (see CacheDir).
	Dir string
	// MaxSize is the size in bytes beyond which IMAP bodies are evicted.
	// The file gives it as an integer number of bytes or a string such as
	// "2GiB" (see ParseSize).
	MaxSize int64
}

// Account is one [[accounts]] entry: a directory under the mount.
type Account struct {
	// Name is the account's directory name under the mount.
	Name string
	// Addresses are the From: addresses routed to this account, as written;
	// the first fills a missing From:.
	Addresses []string
	// Default marks the account that takes outbox mail whose From: matches
	// no account. At most one account has it.
	Default bool
	// IMAP is set for an IMAP account; exactly one of IMAP and POP3 is set.
	IMAP *IMAP
	// POP3 is set for a POP3 account.
	POP3 *POP3
	// SMTP is set when the account can send.
	SMTP *SMTP
}

// Server holds what every protocol needs to reach and log in to a server.
type Server struct {
	// Host is a DNS name or an IP address, without a port.
	Host string
	// Port is 1..65535; its default follows the protocol and TLS.
	Port int
	// TLS is TLSImplicit, TLSStartTLS or TLSNone.
	TLS string
	// TLSCAFile is an absolute path to a PEM bundle to verify the server
	// with instead of the system roots, or "".
	TLSCAFile string
	// Username is the login name.
	Username string
	// Password is the password from the file (zero when absent); it
	// prints as "***" (see Secret).
	Password Secret
	// PasswordCommand is a shell command printing the password, or "".
	PasswordCommand string
	// Auth is AuthPlain, AuthLogin, AuthXOAuth2 or AuthOAuthBearer.
	Auth string
	// TokenCommand is a shell command printing an OAuth access token; set
	// exactly when Auth is AuthXOAuth2 or AuthOAuthBearer.
	TokenCommand string

	// key names this server in errors, e.g. `accounts[0] ("work").imap`.
	key string
}

// IMAP is an [accounts.imap] table.
type IMAP struct {
	Server
	// IdleFolders are watched with IDLE (one connection each); other
	// folders are polled. Default ["INBOX"]; an empty list disables IDLE.
	IdleFolders []string
	// PollInterval is how often folders not watched with IDLE are checked.
	PollInterval time.Duration
	// MaxConnections bounds the connections to the server, IDLE included.
	MaxConnections int
	// Delete is DeleteTrash or DeleteExpunge: what rm does.
	Delete string
	// TrashFolder overrides the special-use \Trash folder when not "".
	TrashFolder string
	// MaxDeletes is how many messages rm may remove (to Trash or for
	// good) within a minute; more are refused (the mass-deletion guard).
	MaxDeletes int
	// NewMailCommand, when not "", is run by sh -c with the paths of newly
	// arrived messages (as arguments and on stdin, one per line).
	NewMailCommand string
	// SentFolder overrides the special-use \Sent folder when not "";
	// SentFolderNone disables the copy of sent mail.
	SentFolder string
}

// POP3 is an [accounts.pop3] table.
type POP3 struct {
	Server
	// LeaveOnServer keeps mail on the server after it is stored locally
	// (default true); false sends DELE once the message is safely stored.
	LeaveOnServer bool
	// PollInterval is how often the server is checked for new mail.
	PollInterval time.Duration
}

// SMTP is an [accounts.smtp] table.
type SMTP struct {
	Server
}

// Error is one problem in a config file.
type Error struct {
	// Path is the config file.
	Path string
	// Line and Column locate a syntax error; 0 when unknown.
	Line, Column int
	// Key is the key path, such as `accounts[1] ("work").imap.tls`; "" for
	// a syntax error.
	Key string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "config PATH: KEY: MSG" or
// "config PATH: line L, column C: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config ")
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and validates the config file at path, or at DefaultPath when
// path is "". The warnings are for the caller to show (for example a
// password in a file others can read); Load prints nothing.
func Load(path string) (*Config, []string, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, nil, err
		}
		path = p
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no config at %s: create it (see README) or pass -config FILE", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	if info.IsDir() {
		return nil, nil, fmt.Errorf("config %s is a directory: pass the file, or -config FILE", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read config %s: %w", path, err)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if mode := info.Mode().Perm(); mode&0o044 != 0 && cfg.hasPassword() {
		warnings = append(warnings, fmt.Sprintf(
			"config %s holds a password and can be read by other users (mode %#o): run chmod 600 %s, or use password_command",
			path, mode, path))
	}
	return cfg, warnings, nil
}

// Parse validates data as a config file named name (used in errors and as
// Config.Path; a relative tls_ca_file is taken relative to its directory).
// It checks that every tls_ca_file exists and holds a PEM certificate.
func Parse(data []byte, name string) (*Config, error) {
	root, err := decodeTOML(data, name)
	if err != nil {
		return nil, err
	}
	p := &problems{file: name}
	cfg := build(root, p, filepath.Dir(name))
	cfg.Path = name
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// DefaultAccount returns the account marked default = true, or nil.
func (c *Config) DefaultAccount() *Account {
	for i := range c.Accounts {
		if c.Accounts[i].Default {
			return &c.Accounts[i]
		}
	}
	return nil
}

// AccountFor returns the account whose Addresses hold addr (compared
// without regard to case), or nil.
func (c *Config) AccountFor(addr string) *Account {
	addr = strings.TrimSpace(addr)
	for i := range c.Accounts {
		for _, a := range c.Accounts[i].Addresses {
			if strings.EqualFold(a, addr) {
				return &c.Accounts[i]
			}
		}
	}
	return nil
}

// SentCopyDisabled reports whether sent_folder = "-" turned off the copy of
// sent mail into a Sent folder.
func (i *IMAP) SentCopyDisabled() bool { return i.SentFolder == SentFolderNone }

// Protocol returns "imap" or "pop3": how the account reads mail.
func (a *Account) Protocol() string {
	if a.POP3 != nil {
		return "pop3"
	}
	return "imap"
}

func (c *Config) hasPassword() bool {
	for _, a := range c.Accounts {
		for _, s := range a.servers() {
			if !s.Password.IsZero() {
				return true
			}
		}
	}
	return false
}

// servers returns the account's configured servers.
func (a *Account) servers() []*Server {
	var out []*Server
	if a.IMAP != nil {
		out = append(out, &a.IMAP.Server)
	}
	if a.POP3 != nil {
		out = append(out, &a.POP3.Server)
	}
	if a.SMTP != nil {
		out = append(out, &a.SMTP.Server)
	}
	return out
}
