package config

import (
	"fmt"
	"net"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// protocol describes what differs between the three kinds of server.
type protocol struct {
	name        string // table name: imap, pop3, smtp
	defaultTLS  string
	implicitTLS int // default port with TLSImplicit
	plainPort   int // default port otherwise
}

var (
	protoIMAP = protocol{"imap", TLSImplicit, 993, 143}
	protoPOP3 = protocol{"pop3", TLSImplicit, 995, 110}
	protoSMTP = protocol{"smtp", TLSStartTLS, 465, 587}
)

// build turns the decoded file into a Config, recording every problem in p.
// baseDir resolves relative file names.
func build(m map[string]any, p *problems, baseDir string) *Config {
	root := newTable(m, "", p)
	cfg := &Config{Filenames: FilenamesDescriptive, Cache: CacheConfig{MaxSize: DefaultMaxCacheSize}, Outbox: OutboxConfig{SendDelay: DefaultSendDelay}}

	if s, ok := root.str("filenames"); ok {
		if err := oneOf(s, FilenamesDescriptive, FilenamesUID); err != "" {
			p.add("filenames", "%s", err)
		} else {
			cfg.Filenames = s
		}
	}
	if c := root.sub("cache"); c != nil {
		buildCache(c, &cfg.Cache)
		c.done()
	}
	if o := root.sub("outbox"); o != nil {
		if b, ok := o.boolean("allow_unknown_from"); ok {
			cfg.Outbox.AllowUnknownFrom = b
		}
		if b, ok := o.boolean("allow_received"); ok {
			cfg.Outbox.AllowReceived = b
		}
		if d, ok := o.duration("send_delay"); ok {
			if d < 0 || d > MaxSendDelay {
				o.p.add(o.key("send_delay"), "%v is out of range 0s..%v", d, MaxSendDelay)
			}
			cfg.Outbox.SendDelay = d
		}
		o.done()
	}

	accounts, ok := root.tables("accounts")
	if !ok && !p.has("accounts") {
		p.add("accounts", "no account: add an [[accounts]] table (see README)")
	}
	if ok && len(accounts) == 0 {
		p.add("accounts", "no account: add an [[accounts]] table (see README)")
	}
	for i, t := range accounts {
		cfg.Accounts = append(cfg.Accounts, buildAccount(t, i, p, baseDir))
		t.done()
	}
	root.done()
	checkAccounts(cfg.Accounts, accounts, p)
	return cfg
}

// has reports whether a problem was already recorded for key.
func (p *problems) has(key string) bool {
	for _, e := range p.list {
		if e, ok := e.(*Error); ok && e.Key == key {
			return true
		}
	}
	return false
}

func buildCache(t *table, c *CacheConfig) {
	if s, ok := t.str("dir"); ok && s != "" {
		dir, err := expandHome(s)
		switch {
		case err != nil:
			t.p.add(t.key("dir"), "%v", err)
		case !filepath.IsAbs(dir):
			t.p.add(t.key("dir"), "%q is not an absolute path (start it with / or ~/)", s)
		default:
			c.Dir = filepath.Clean(dir)
		}
	}
	v, present := t.get("max_size")
	if !present {
		return
	}
	var n int64
	var err error
	switch v := v.(type) {
	case string:
		n, err = ParseSize(v)
	case int64:
		n = v
	default:
		t.p.add(t.key("max_size"), "want a size such as \"2GiB\" or a number of bytes, got %s", describe(v))
		return
	}
	switch {
	case err != nil:
		t.p.add(t.key("max_size"), "%v", err)
	case n <= 0:
		t.p.add(t.key("max_size"), "must be more than 0 bytes")
	default:
		c.MaxSize = n
	}
}

func buildAccount(t *table, i int, p *problems, baseDir string) Account {
	var a Account
	name, hasName := t.str("name")
	if hasName {
		// From here on, the account is named in every error about it.
		t.path = fmt.Sprintf("accounts[%d] (%q)", i, name)
		if err := checkName(name); err != "" {
			p.add(t.key("name"), "%s", err)
		}
		a.Name = name
	} else if !p.has(t.key("name")) {
		p.add(t.key("name"), "missing: every account needs a name (its directory under the mount)")
	}

	if addrs, ok := t.strs("addresses"); ok {
		for j, s := range addrs {
			if err := checkAddress(s); err != "" {
				p.add(fmt.Sprintf("%s[%d]", t.key("addresses"), j), "%s", err)
			}
		}
		a.Addresses = addrs
	}
	if b, ok := t.boolean("default"); ok {
		a.Default = b
	}

	if s := t.sub("imap"); s != nil {
		a.IMAP = buildIMAP(s, baseDir)
		s.done()
	}
	if s := t.sub("pop3"); s != nil {
		a.POP3 = buildPOP3(s, baseDir)
		s.done()
	}
	if s := t.sub("smtp"); s != nil {
		a.SMTP = &SMTP{Server: buildServer(s, protoSMTP, baseDir)}
		s.done()
	}
	_, hasIMAP := t.m["imap"]
	_, hasPOP3 := t.m["pop3"]
	switch {
	case hasIMAP && hasPOP3:
		p.add(t.path, "has both [accounts.imap] and [accounts.pop3]: an account reads mail with one; make two accounts")
	case !hasIMAP && !hasPOP3:
		p.add(t.path, "has neither [accounts.imap] nor [accounts.pop3]: add one to say where its mail is")
	}
	if a.Default && (a.SMTP == nil || len(a.Addresses) == 0) {
		p.add(t.key("default"), "the default account sends outbox mail that matches no account, so it needs [accounts.smtp] and at least one address in addresses")
	}
	return a
}

// checkName returns why name cannot be an account directory, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "is empty: it becomes a directory name under the mount"
	case name == "." || name == "..":
		return fmt.Sprintf("%q cannot be a directory name", name)
	case strings.EqualFold(name, OutboxName):
		return fmt.Sprintf("%q is reserved for the outbox directory; choose another name", name)
	case strings.Contains(name, "/"):
		return fmt.Sprintf("%q contains \"/\": it must be a single directory name", name)
	case len(name) > 255:
		return fmt.Sprintf("is %d bytes long; a directory name has at most 255", len(name))
	case !utf8.ValidString(name):
		return fmt.Sprintf("%q is not valid UTF-8", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Sprintf("%q contains a control character", name)
	}
	return ""
}

// checkAddress returns why s is not a bare mail address, or "".
func checkAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Sprintf("%q is not a mail address such as me@example.com", s)
	}
	if a.Name != "" || a.Address != s {
		return fmt.Sprintf("%q: write only the address, such as %s", s, a.Address)
	}
	return ""
}

// checkAccounts checks what involves several accounts.
func checkAccounts(accts []Account, tables []*table, p *problems) {
	names := map[string]int{}
	addrs := map[string]int{}
	firstDefault := -1
	for i, a := range accts {
		t := tables[i]
		if a.Name != "" {
			if j, dup := names[a.Name]; dup {
				p.add(t.key("name"), "%q is already the name of accounts[%d]; names must be unique", a.Name, j)
			} else {
				names[a.Name] = i
			}
		}
		for k, addr := range a.Addresses {
			low := strings.ToLower(addr)
			if j, dup := addrs[low]; dup {
				p.add(fmt.Sprintf("%s[%d]", t.key("addresses"), k), "%q is already an address of accounts[%d]; an address routes to one account", addr, j)
			} else {
				addrs[low] = i
			}
		}
		if a.Default {
			if firstDefault >= 0 {
				p.add(t.key("default"), "accounts[%d] is already the default; at most one account has default = true", firstDefault)
			} else {
				firstDefault = i
			}
		}
	}
}

func buildIMAP(t *table, baseDir string) *IMAP {
	m := &IMAP{
		Server:         buildServer(t, protoIMAP, baseDir),
		IdleFolders:    []string{"INBOX"},
		PollInterval:   DefaultIMAPPollInterval,
		MaxConnections: DefaultIMAPMaxConnections,
		Delete:         DeleteTrash,
		MaxDeletes:     DefaultMaxDeletes,
	}
	if folders, ok := t.strs("idle_folders"); ok {
		for j, f := range folders {
			switch {
			case f == "":
				t.p.add(fmt.Sprintf("%s[%d]", t.key("idle_folders"), j), "is empty: name a folder such as INBOX")
			case slices.Index(folders, f) < j:
				t.p.add(fmt.Sprintf("%s[%d]", t.key("idle_folders"), j), "%q is listed twice", f)
			}
		}
		m.IdleFolders = folders
	}
	if d, ok := t.duration("poll_interval"); ok {
		if d < MinIMAPPollInterval {
			t.p.add(t.key("poll_interval"), "%v is too short: at least %v", d, MinIMAPPollInterval)
		}
		m.PollInterval = d
	}
	if n, ok := t.integer("max_connections"); ok {
		if n < 1 || n > MaxIMAPMaxConnections {
			t.p.add(t.key("max_connections"), "%d is out of range 1..%d", n, MaxIMAPMaxConnections)
		} else {
			m.MaxConnections = int(n)
		}
	}
	if len(m.IdleFolders) >= m.MaxConnections {
		t.p.add(t.key("idle_folders"), "%d folders watched with IDLE take %d connections and leave none of max_connections = %d for other commands: raise max_connections to %d or watch fewer folders",
			len(m.IdleFolders), len(m.IdleFolders), m.MaxConnections, len(m.IdleFolders)+1)
	}
	if s, ok := t.str("delete"); ok {
		if err := oneOf(s, DeleteTrash, DeleteExpunge); err != "" {
			t.p.add(t.key("delete"), "%s", err)
		} else {
			m.Delete = s
		}
	}
	m.TrashFolder, _ = t.str("trash_folder")
	m.NewMailCommand, _ = t.str("new_mail_command")
	if n, ok := t.integer("max_deletes"); ok {
		if n < 1 || n > MaxMaxDeletes {
			t.p.add(t.key("max_deletes"), "%d is out of range 1..%d", n, MaxMaxDeletes)
		} else {
			m.MaxDeletes = int(n)
		}
	}
	m.SentFolder, _ = t.str("sent_folder")
	return m
}

func buildPOP3(t *table, baseDir string) *POP3 {
	m := &POP3{
		Server:        buildServer(t, protoPOP3, baseDir),
		LeaveOnServer: true,
		PollInterval:  DefaultPOP3PollInterval,
	}
	if b, ok := t.boolean("leave_on_server"); ok {
		m.LeaveOnServer = b
	}
	if d, ok := t.duration("poll_interval"); ok {
		if d < MinPOP3PollInterval {
			t.p.add(t.key("poll_interval"), "%v is too short: at least %v", d, MinPOP3PollInterval)
		}
		m.PollInterval = d
	}
	return m
}

// buildServer reads and checks the keys every protocol shares.
func buildServer(t *table, proto protocol, baseDir string) Server {
	s := Server{key: t.path, TLS: proto.defaultTLS, Auth: AuthPlain}
	p := t.p

	host, ok := t.str("host")
	switch {
	case !ok && !p.has(t.key("host")):
		p.add(t.key("host"), "missing: the server's name, such as %s.example.com", proto.name)
	case ok:
		if err := checkHost(host); err != "" {
			p.add(t.key("host"), "%s", err)
		}
		s.Host = host
	}

	if v, ok := t.str("tls"); ok {
		if err := oneOf(v, TLSImplicit, TLSStartTLS, TLSNone); err != "" {
			p.add(t.key("tls"), "%s", err)
		} else {
			s.TLS = v
		}
	}
	if s.TLS == TLSNone && s.Host != "" && !isLoopback(s.Host) {
		p.add(t.key("tls"), "\"none\" would send the password in clear over the network to %s; it is allowed only for a loopback host (localhost, 127.0.0.1, ::1): use implicit or starttls", s.Host)
	}

	s.Port = proto.plainPort
	if s.TLS == TLSImplicit {
		s.Port = proto.implicitTLS
	}
	if n, ok := t.integer("port"); ok {
		if n < 1 || n > 65535 {
			p.add(t.key("port"), "%d is out of range 1..65535", n)
		} else {
			s.Port = int(n)
		}
	}

	if f, ok := t.str("tls_ca_file"); ok && f != "" {
		path, err := expandHome(f)
		if err == nil && !filepath.IsAbs(path) {
			path = filepath.Join(baseDir, path)
		}
		if err == nil {
			path, err = filepath.Abs(path)
		}
		if err == nil {
			_, err = loadCAPool(path)
		}
		if err != nil {
			p.add(t.key("tls_ca_file"), "%v", err)
		} else {
			s.TLSCAFile = path
		}
	}

	user, ok := t.str("username")
	if (!ok || user == "") && !p.has(t.key("username")) {
		p.add(t.key("username"), "missing: the login name on %s", orDefault(s.Host, "the server"))
	}
	s.Username = user

	if v, ok := t.str("auth"); ok {
		if err := oneOf(v, AuthPlain, AuthLogin, AuthXOAuth2, AuthOAuthBearer); err != "" {
			p.add(t.key("auth"), "%s", err)
		} else {
			s.Auth = v
		}
	}
	pw, _ := t.str("password")
	s.Password = NewSecret(pw)
	s.PasswordCommand, _ = t.str("password_command")
	s.TokenCommand, _ = t.str("token_command")
	oauth := s.Auth == AuthXOAuth2 || s.Auth == AuthOAuthBearer
	switch {
	case oauth && s.TokenCommand == "":
		p.add(t.key("token_command"), "missing: auth = %q needs a command that prints an access token", s.Auth)
	case oauth && (!s.Password.IsZero() || s.PasswordCommand != ""):
		key := "password_command"
		if !s.Password.IsZero() {
			key = "password"
		}
		p.add(t.key(key), "is not used with auth = %q (it logs in with token_command): remove it", s.Auth)
	case !oauth && s.TokenCommand != "":
		p.add(t.key("token_command"), "is used only with auth = \"xoauth2\" or \"oauthbearer\", not %q", s.Auth)
	case !oauth && !s.Password.IsZero() && s.PasswordCommand != "":
		p.add(t.key("password"), "both password and password_command are set: keep one")
	case !oauth && s.Password.IsZero() && s.PasswordCommand == "":
		p.add(t.key("password"), "missing: set password_command (a command printing the password, such as \"pass show mail\") or password")
	}
	return s
}

// checkHost returns why host cannot be a server name, or "".
func checkHost(host string) string {
	switch {
	case host == "":
		return "is empty: name the server"
	case strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"):
		return fmt.Sprintf("%q: write an IPv6 address without brackets", host)
	case strings.ContainsAny(host, "/@ \t") || strings.ContainsFunc(host, unicode.IsControl):
		return fmt.Sprintf("%q is not a host name or IP address", host)
	case strings.Contains(host, ":") && net.ParseIP(host) == nil:
		return fmt.Sprintf("%q: give the port in port, not in host", host)
	}
	return ""
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oneOf returns "" when s is one of allowed, otherwise the error message.
func oneOf(s string, allowed ...string) string {
	if slices.Contains(allowed, s) {
		return ""
	}
	return fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
