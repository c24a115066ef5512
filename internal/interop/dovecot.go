package interop

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// DovecotOptions configures a private Dovecot instance. Nil means defaults.
type DovecotOptions struct {
	// Users maps user names to plaintext passwords; default {"alice": "secret"}.
	// Names and passwords must not contain ':', '%', white space or control
	// characters (they go into a passwd-file).
	Users map[string]string
	// SpecialUse creates Sent, Trash, Drafts and Archive for every user, with
	// the special-use attributes \Sent, \Trash, \Drafts and \Archive set in
	// the namespace configuration (and the folders subscribed).
	SpecialUse bool
	// Separator is the hierarchy separator of the inbox namespace; default
	// "/". Real Maildir servers often use "." (Dovecot's own default), which
	// a test of the delimiter handling may want.
	Separator string
	// IMAPCapability, when set, is the capability list Dovecot advertises
	// after login (its imap_capability setting), to play a server without
	// MOVE or UIDPLUS: clients go by what is advertised.
	IMAPCapability string
}

// Dovecot is a running private Dovecot 2.3 instance on 127.0.0.1, started
// by StartDovecot for a test (stopped when the test ends) or by
// LaunchDovecot (stopped by Close).
//
// IMAP (IMAPPort, with STARTTLS) and POP3 (POP3Port, with STLS) accept
// plaintext logins with or without TLS; IMAPSPort and POP3SPort speak
// implicit TLS. LMTPPort accepts mail for the users (for a Postfix relay).
// The certificate is signed by CA and valid for 127.0.0.1 and localhost.
type Dovecot struct {
	// Host is the address every listener is bound to, "127.0.0.1".
	Host string
	// IMAPPort (plain text + STARTTLS) and IMAPSPort (implicit TLS).
	IMAPPort, IMAPSPort int
	// POP3Port (plain text + STLS) and POP3SPort (implicit TLS).
	POP3Port, POP3SPort int
	// LMTPPort is the LMTP listener, without TLS.
	LMTPPort int
	// CA signed the server certificate.
	CA *remotetest.CA
	// CAFile is the path of CA's certificate in PEM, the value for a
	// tls_ca_file setting.
	CAFile string
	// Dir holds the instance: dovecot.conf, users, tls/, state/, mail/USER
	// (the Maildirs), home/USER and log/dovecot.log.
	Dir string
	// Users are the accounts and their passwords.
	Users map[string]string

	conf    string // path of dovecot.conf
	logFile string
	baseDir string // short runtime directory for Dovecot's sockets
	mailUID int
	mailGID int
	// loginUser and internalUser run the login and internal processes;
	// internalGroup owns the internal sockets ("" = Dovecot's default).
	loginUser, internalUser, internalGroup string
	proc                                   *daemon

	seedSeq atomic.Uint64 // makes the names of seeded files unique

	closeOnce sync.Once
	closeErr  error
}

const (
	dovecotStartTimeout = 20 * time.Second
	dovecotStopTimeout  = 10 * time.Second
)

// StartDovecot starts a Dovecot instance for the test with LaunchDovecot
// and stops it in t.Cleanup (also when the test fails), failing the test if
// a process had to be killed. It skips (or fails, see RequireDovecot) when
// Dovecot is not installed, and fails the test when the instance does not
// start. Instances started by parallel tests are independent.
func StartDovecot(t testing.TB, opts *DovecotOptions) *Dovecot {
	t.Helper()
	RequireDovecot(t)
	d, err := LaunchDovecot(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return d
}

// LaunchDovecot starts a private Dovecot instance on free loopback ports,
// in a new directory under the system's temporary directory (Dir), and
// waits until IMAP answers with a greeting. Close stops it, waits until the
// master and all its children are gone and removes Dir; if the calling
// program dies first, the master gets SIGTERM. It is StartDovecot without
// a test, for programs such as benchmarks; its errors begin with
// "dovecot:" and carry the tail of the server's log.
//
// Run as root (as the packaged Dovecot is), the mail of every user belongs
// to the system user "mail" (8:8 on Debian), because Dovecot refuses to
// access mail as root, and the login and internal processes run as dovenull
// and dovecot. Run as another user, the instance runs entirely as that user,
// without chroot. Either way every directory above Dir must be traversable
// by the mail user: those under the temporary directory are made 0755, and
// another that is not traversable is an error that says so.
func LaunchDovecot(opts *DovecotOptions) (*Dovecot, error) {
	if err := dovecotInstalled(); err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	var o DovecotOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Users) == 0 {
		o.Users = map[string]string{"alice": "secret"}
	}
	if o.Separator == "" {
		o.Separator = "/"
	}
	for u, p := range o.Users {
		if err := checkPasswdField(u, false); err != nil {
			return nil, fmt.Errorf("dovecot: user name %q: %v", u, err)
		}
		if err := checkPasswdField(p, true); err != nil {
			return nil, fmt.Errorf("dovecot: password of %q: %v", u, err)
		}
	}
	if len(o.Separator) != 1 {
		return nil, fmt.Errorf("dovecot: separator %q: want one character", o.Separator)
	}

	dir, err := os.MkdirTemp("", "mailfs-dovecot-")
	if err != nil {
		return nil, fmt.Errorf("dovecot: create the instance directory: %w", err)
	}
	d := &Dovecot{Host: "127.0.0.1", Dir: dir, Users: o.Users}
	if err := d.launch(o); err != nil {
		if cerr := d.Close(); cerr != nil {
			err = fmt.Errorf("%w (%v)", err, cerr)
		}
		return nil, err
	}
	return d, nil
}

// launch writes the instance's files in d.Dir and starts the master.
func (d *Dovecot) launch(o DovecotOptions) error {
	d.conf = filepath.Join(d.Dir, "dovecot.conf")
	d.logFile = filepath.Join(d.Dir, "log", "dovecot.log")
	if err := d.chooseUsers(); err != nil {
		return fmt.Errorf("dovecot: %v", err)
	}
	if err := makeTraversable(d.Dir); err != nil {
		return fmt.Errorf("dovecot: %v", err)
	}

	// Unix socket paths are limited to 108 bytes: temporary paths plus
	// Dovecot's socket names can overflow that, so the sockets get a short
	// directory of their own.
	base, err := os.MkdirTemp("/tmp", "dv")
	if err != nil {
		return fmt.Errorf("dovecot: create base_dir: %v", err)
	}
	d.baseDir = base
	// Dovecot wants base_dir world-readable (and says so in the log).
	if err := os.Chmod(base, 0o755); err != nil {
		return fmt.Errorf("dovecot: chmod base_dir: %v", err)
	}

	ca, err := remotetest.NewCA()
	if err != nil {
		return fmt.Errorf("dovecot: %v", err)
	}
	d.CA = ca
	if err := d.writeFiles(o); err != nil {
		return fmt.Errorf("dovecot: %v", err)
	}

	return withFreePorts("dovecot", 5, nil, func(ports []int) error {
		d.IMAPPort, d.IMAPSPort, d.POP3Port, d.POP3SPort, d.LMTPPort = ports[0], ports[1], ports[2], ports[3], ports[4]
		if err := os.WriteFile(d.conf, []byte(d.config(o)), 0o644); err != nil {
			return fmt.Errorf("dovecot: write config: %w", err)
		}
		return d.start()
	})
}

// Close stops the instance: SIGTERM to the master, then it waits until
// every process of the instance is gone (SIGKILL after 10 s, which the
// error reports) and removes Dir and the socket directory. Calling it
// again returns the first result.
func (d *Dovecot) Close() error {
	d.closeOnce.Do(func() {
		var errs []error
		if d.proc != nil {
			if err := d.proc.stop(dovecotStopTimeout); err != nil {
				errs = append(errs, fmt.Errorf("dovecot in %s: stop: %w\nlog:\n%s", d.Dir, err, d.LogTail(20)))
			}
		}
		for _, dir := range []string{d.baseDir, d.Dir} {
			if dir == "" {
				continue
			}
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("dovecot: remove %s: %w", dir, err))
			}
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

// start runs the master in the foreground and waits for the IMAP greeting.
// On success d.proc is the running master; on an error it is stopped.
func (d *Dovecot) start() error {
	// Start each attempt with an empty log so a failure shows its own lines.
	_ = os.Remove(d.logFile)
	proc, err := runInstance(instance{
		name: "dovecot", dir: d.Dir, logFile: d.logFile,
		path: dovecotBin, args: []string{"-F", "-c", d.conf},
		addr: d.IMAPAddr(), greeting: "* OK", protocol: "IMAP",
		startTimeout: dovecotStartTimeout, stopTimeout: dovecotStopTimeout,
		// The master keeps running when a service dies at startup (it
		// restarts it with growing delays): its log says so at once.
		failed: func() bool {
			log, _ := os.ReadFile(d.logFile)
			return bytes.Contains(log, []byte(" Fatal: "))
		},
	})
	d.proc = proc
	return err
}

// IMAPAddr returns "127.0.0.1:PORT" of the plain-text/STARTTLS IMAP listener.
func (d *Dovecot) IMAPAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.IMAPPort)) }

// IMAPSAddr returns "127.0.0.1:PORT" of the implicit-TLS IMAP listener.
func (d *Dovecot) IMAPSAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.IMAPSPort)) }

// POP3Addr returns "127.0.0.1:PORT" of the plain-text/STLS POP3 listener.
func (d *Dovecot) POP3Addr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.POP3Port)) }

// POP3SAddr returns "127.0.0.1:PORT" of the implicit-TLS POP3 listener.
func (d *Dovecot) POP3SAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.POP3SPort)) }

// LMTPAddr returns "127.0.0.1:PORT" of the LMTP listener.
func (d *Dovecot) LMTPAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.LMTPPort)) }

// LogTail returns the last n lines of Dovecot's log, for failure messages.
func (d *Dovecot) LogTail(n int) string { return tail(d.logFile, n) }

// writeFiles writes the certificate, key, CA file and users file and creates
// the directories Dovecot and the mail user need.
func (d *Dovecot) writeFiles(o DovecotOptions) error {
	for _, dir := range []string{"tls", "state", "log", "mail", "home"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, dir), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	certPEM, keyPEM, err := d.CA.KeyPEM()
	if err != nil {
		return fmt.Errorf("encode server key: %w", err)
	}
	d.CAFile = filepath.Join(d.Dir, "tls", "ca.pem")
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{d.CAFile, d.CA.CAPEM, 0o644},
		{filepath.Join(d.Dir, "tls", "cert.pem"), certPEM, 0o644},
		{filepath.Join(d.Dir, "tls", "key.pem"), keyPEM, 0o600},
		{filepath.Join(d.Dir, "users"), d.passwdFile(), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(f.name, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	if os.Geteuid() != 0 {
		return nil // everything already belongs to the one user
	}
	// The mail and home trees belong to the mail user, who creates the
	// Maildirs below them on first access.
	for _, dir := range []string{"mail", "home"} {
		if err := os.Chown(filepath.Join(d.Dir, dir), d.mailUID, d.mailGID); err != nil {
			return fmt.Errorf("chown %s to %d:%d: %w", dir, d.mailUID, d.mailGID, err)
		}
	}
	for u := range o.Users {
		home := filepath.Join(d.Dir, "home", u)
		if err := os.MkdirAll(home, 0o700); err != nil {
			return fmt.Errorf("create home of %s: %w", u, err)
		}
		if os.Geteuid() != 0 {
			continue
		}
		if err := os.Chown(home, d.mailUID, d.mailGID); err != nil {
			return fmt.Errorf("chown home of %s: %w", u, err)
		}
	}
	return nil
}

// passwdFile renders the users as a Dovecot passwd-file: user:{PLAIN}pass:uid:gid::home::
func (d *Dovecot) passwdFile() []byte {
	var b strings.Builder
	for _, u := range d.userNames() {
		fmt.Fprintf(&b, "%s:{PLAIN}%s:%d:%d::%s::\n", u, d.Users[u], d.mailUID, d.mailGID, filepath.Join(d.Dir, "home", u))
	}
	return []byte(b.String())
}

// config renders dovecot.conf. Nothing is taken from /etc/dovecot.
func (d *Dovecot) config(o DovecotOptions) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Private Dovecot instance of a mailfs test or benchmark; written by internal/interop.")
	p("base_dir = %s", d.baseDir)
	p("state_dir = %s", filepath.Join(d.Dir, "state"))
	p("instance_name = mailfs-%s", filepath.Base(d.baseDir))
	p("log_path = %s", d.logFile)
	p("info_log_path = %s", d.logFile)
	p("protocols = imap pop3 lmtp")
	p("listen = 127.0.0.1")
	p("shutdown_clients = yes")
	p("")
	p("ssl = yes")
	p("ssl_cert = <%s", filepath.Join(d.Dir, "tls", "cert.pem"))
	p("ssl_key = <%s", filepath.Join(d.Dir, "tls", "key.pem"))
	// No ssl_dh: Dovecot 2.3.19 starts without it (no warning), and with
	// the CA's ECDSA key only ECDHE suites are possible, which need no DH
	// parameters (a DHE-RSA client gets "no shared cipher" either way).
	p("ssl_min_protocol = TLSv1.2")
	p("")
	p("disable_plaintext_auth = no")
	p("auth_mechanisms = plain login")
	p("auth_failure_delay = 0")
	p("auth_verbose = yes")
	p("default_login_user = %s", d.loginUser)
	p("default_internal_user = %s", d.internalUser)
	if d.internalGroup != "" {
		p("default_internal_group = %s", d.internalGroup)
	}
	p("first_valid_uid = %d", d.mailUID)
	p("last_valid_uid = %d", d.mailUID)
	p("first_valid_gid = %d", d.mailGID)
	p("last_valid_gid = %d", d.mailGID)
	p("passdb {")
	p("  driver = passwd-file")
	p("  args = scheme=PLAIN username_format=%%n %s", filepath.Join(d.Dir, "users"))
	p("}")
	p("userdb {")
	p("  driver = passwd-file")
	p("  args = username_format=%%n %s", filepath.Join(d.Dir, "users"))
	p("}")
	p("")
	p("mail_location = maildir:%s/%%n", filepath.Join(d.Dir, "mail"))
	p("pop3_uidl_format = %%08Xu%%08Xv")
	if o.IMAPCapability != "" {
		p("imap_capability = %s", o.IMAPCapability)
	}
	p("namespace inbox {")
	p("  inbox = yes")
	p("  prefix =")
	p("  separator = %s", o.Separator)
	if o.SpecialUse {
		for _, m := range []string{"Sent", "Trash", "Drafts", "Archive"} {
			p("  mailbox %s {", m)
			p("    special_use = \\%s", m)
			p("    auto = subscribe")
			p("  }")
		}
	}
	p("}")
	p("")
	// Without root, processes cannot chroot: the services that do by
	// default run unconfined.
	chroot := func() {
		if os.Geteuid() != 0 {
			p("  chroot =")
		}
	}
	if os.Geteuid() != 0 {
		p("service anvil {")
		chroot()
		p("}")
		p("service imap-urlauth-login {")
		chroot()
		p("}")
	}
	p("service imap-login {")
	chroot()
	p("  inet_listener imap {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.IMAPPort)
	p("  }")
	p("  inet_listener imaps {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.IMAPSPort)
	p("    ssl = yes")
	p("  }")
	p("}")
	p("service pop3-login {")
	chroot()
	p("  inet_listener pop3 {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.POP3Port)
	p("  }")
	p("  inet_listener pop3s {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.POP3SPort)
	p("    ssl = yes")
	p("  }")
	p("}")
	p("service lmtp {")
	p("  inet_listener lmtp {")
	p("    address = 127.0.0.1")
	p("    port = %d", d.LMTPPort)
	p("  }")
	p("}")
	return b.String()
}

// chooseUsers decides who owns the mail and runs Dovecot's processes. As
// root: mail belongs to the system user "mail" (8:8 on Debian), because
// Dovecot refuses to access mail as root, and the login and internal
// processes run as dovenull and dovecot, as in a packaged installation.
// As another user, Dovecot cannot change users: everything runs as, and
// belongs to, the current user.
func (d *Dovecot) chooseUsers() error {
	if os.Geteuid() == 0 {
		d.mailUID, d.mailGID = 8, 8
		if u, err := user.Lookup("mail"); err == nil {
			if n, err := strconv.Atoi(u.Uid); err == nil {
				d.mailUID = n
			}
			if n, err := strconv.Atoi(u.Gid); err == nil {
				d.mailGID = n
			}
		}
		d.loginUser, d.internalUser = "dovenull", "dovecot"
		return nil
	}
	me, err := user.Current()
	if err != nil {
		return fmt.Errorf("look up the current user: %w", err)
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		return fmt.Errorf("look up the current group: %w", err)
	}
	d.mailUID, d.mailGID = os.Geteuid(), os.Getegid()
	d.loginUser, d.internalUser, d.internalGroup = me.Username, me.Username, g.Name
	return nil
}

// checkPasswdField rejects what would break a passwd-file line or a
// Dovecot %-variable.
func checkPasswdField(s string, password bool) error {
	if s == "" && !password {
		return fmt.Errorf("empty")
	}
	for _, r := range s {
		if r == ':' || r == '\n' || r < ' ' || r == 0x7f || (!password && (r == ' ' || r == '%' || r == '/' || r == '@')) {
			return fmt.Errorf("character %q not allowed", r)
		}
	}
	return nil
}
