package interop

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// Paths of the Debian Postfix programs the helpers run.
const (
	postfixBin     = "/usr/sbin/postfix"
	postconfBin    = "/usr/sbin/postconf"
	postfixLibexec = "/usr/lib/postfix/sbin" // daemon_directory
)

const (
	postfixStartTimeout = 20 * time.Second
	postfixStopTimeout  = 10 * time.Second
	postfixHint         = "postfix not installed (apt-get install postfix)"
)

// RequirePostfix skips the test when Postfix is not installed or cannot be
// started (it must run as root), or fails it when MAILFS_INTEROP=1.
func RequirePostfix(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{
		postfixBin,
		postconfBin,
		postfixLibexec + "/master",
		postfixLibexec + "/smtpd",
		postfixLibexec + "/lmtp",
		postfixLibexec + "/postlogd",
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := user.Lookup("postfix"); err != nil {
		missing = append(missing, "user postfix")
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		missing = append(missing, "group postdrop")
	}
	switch {
	case len(missing) > 0:
		requireFail(t, postfixHint, "missing: "+strings.Join(missing, ", "))
	case os.Geteuid() != 0:
		requireFail(t, "postfix needs root to start (its master changes to the postfix user)", "running as uid "+strconv.Itoa(os.Geteuid()))
	}
}

// RequireMsmtp returns the path of the msmtp program, for tests and
// benchmarks that compare with it. It skips the test when msmtp is not
// installed, or fails it when MAILFS_INTEROP=1.
func RequireMsmtp(t testing.TB) string {
	t.Helper()
	return RequireProgram(t, "msmtp", "msmtp")
}

// RequireProgram returns the path of the program prog, which Debian's
// package pkg installs (an editor or mail client a test acts as a user
// with). It skips the test when prog is not installed, or fails it when
// MAILFS_INTEROP=1.
func RequireProgram(t testing.TB, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		requireFail(t, prog+" is not installed (apt-get install "+pkg+")", err.Error())
	}
	return p
}

// requireFail skips the test with hint, or fails it when MAILFS_INTEROP=1.
func requireFail(t testing.TB, hint, detail string) {
	t.Helper()
	if os.Getenv(InteropEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it (%s)", hint, InteropEnv, detail)
	}
	t.Skipf("%s; set %s=1 to make this a failure (%s)", hint, InteropEnv, detail)
}

// PostfixOptions configures a private Postfix instance. Nil means defaults.
type PostfixOptions struct {
	// Dovecot receives the accepted mail on its LMTP listener. Nil
	// discards accepted mail (WaitDelivered then fails).
	Dovecot *Dovecot
	// Domains are the virtual_mailbox_domains Postfix accepts mail for;
	// default ["example.org"].
	Domains []string
	// Users maps each accepted address to the Dovecot user that receives
	// it; default {"alice@example.org": "alice"}. Mail to other addresses
	// in Domains is refused with 550 5.1.1; every address must be in one
	// of Domains.
	Users map[string]string
	// AuthUsers makes the listener a submission server: AUTH PLAIN and
	// LOGIN are offered (checked by Dovecot's passdb, so Dovecot is
	// required and every entry, user name to password, must be one of
	// Dovecot.Users with the same password), and a client that has not
	// authenticated is refused every recipient (554 5.7.1). Empty means no
	// AUTH, and loopback clients (mynetworks) may send without it.
	AuthUsers map[string]string
	// No8BitMIME hides 8BITMIME from the EHLO reply
	// (smtpd_discard_ehlo_keywords = 8bitmime), for tests of the 7-bit
	// path. SMTPUTF8 is still offered.
	No8BitMIME bool
	// TLS offers STARTTLS with a certificate signed by Postfix.CA.
	TLS bool
	// RecipientLimit, when positive, is smtpd_recipient_limit: a RCPT
	// beyond it in one transaction gets "452 4.5.3 Error: too many
	// recipients". Zero keeps Postfix's default, 1000. (The
	// smtpd_hard_error_limit stays at its default, 20: the 21st command
	// after 20 refusals gets "421 4.7.0 … Error: too many errors" and the
	// connection is closed.)
	RecipientLimit int
}

// Postfix is a running private Postfix 3.7 instance on 127.0.0.1, started
// by StartPostfix and stopped when the test ends. Its smtpd listener on
// Host:Port accepts mail for PostfixOptions.Users from loopback without
// authentication (unless AuthUsers is set) and hands it to Dovecot over
// LMTP.
type Postfix struct {
	// Host is the address of the smtpd listener, "127.0.0.1".
	Host string
	// Port is the smtpd listener's port (plain text, STARTTLS with TLS).
	Port int
	// CA signed the server certificate (valid for 127.0.0.1 and
	// localhost); nil without PostfixOptions.TLS.
	CA *remotetest.CA
	// CAFile is the path of CA's certificate in PEM ("" without TLS).
	CAFile string
	// Dir holds the instance: conf/main.cf and conf/master.cf, queue/,
	// data/, tls/ and log/postfix.log.
	Dir string

	dovecot *Dovecot
	confDir string
	logFile string
	proc    *daemon
}

// StartPostfix starts a Postfix instance for the test with its own
// config_directory, queue and log on a free loopback port, waits until
// smtpd greets, and stops it in t.Cleanup (also when the test fails),
// waiting until the master and every process it started are gone. It skips
// (or fails, see RequirePostfix) when Postfix is not installed. Instances
// started by parallel tests are independent; the system's /etc/postfix is
// never read.
//
// The master runs in the foreground in its own process group (master -d),
// all services without chroot. Every directory above Dir must be
// traversable by the postfix user: the ones t.TempDir created are made
// 0755.
func StartPostfix(t testing.TB, opts *PostfixOptions) *Postfix {
	t.Helper()
	RequirePostfix(t)
	var o PostfixOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Domains) == 0 {
		o.Domains = []string{"example.org"}
	}
	if len(o.Users) == 0 {
		o.Users = map[string]string{"alice@example.org": "alice"}
	}
	if err := checkPostfixOptions(o); err != nil {
		t.Fatalf("postfix: %v", err)
	}

	p := &Postfix{Host: "127.0.0.1", Dir: t.TempDir(), dovecot: o.Dovecot}
	p.confDir = filepath.Join(p.Dir, "conf")
	p.logFile = filepath.Join(p.Dir, "log", "postfix.log")
	if err := makeTraversable(p.Dir); err != nil {
		t.Fatalf("postfix: %v", err)
	}
	if err := p.writeFiles(o); err != nil {
		t.Fatalf("postfix: %v", err)
	}
	if len(o.AuthUsers) > 0 {
		if err := o.Dovecot.openAuthSocket(); err != nil {
			t.Fatalf("postfix: %v", err)
		}
	}

	err := withFreePorts("postfix", 1, t.Logf, func(ports []int) error {
		p.Port = ports[0]
		if err := p.writeConfig(o); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
		return p.start()
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := p.proc.stop(postfixStopTimeout); err != nil {
			t.Errorf("postfix in %s: stop: %v\nlog:\n%s", p.Dir, err, p.LogTail(20))
		}
	})
	return p
}

// checkPostfixOptions rejects options that would make a broken or
// misleading configuration.
func checkPostfixOptions(o PostfixOptions) error {
	for _, d := range o.Domains {
		if err := checkMapToken(d); err != nil {
			return fmt.Errorf("domain %q: %v", d, err)
		}
	}
	for addr, u := range o.Users {
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 {
			return fmt.Errorf("user address %q: want local@domain", addr)
		}
		if err := checkMapToken(addr); err != nil {
			return fmt.Errorf("user address %q: %v", addr, err)
		}
		if !slices.ContainsFunc(o.Domains, func(d string) bool { return strings.EqualFold(d, addr[at+1:]) }) {
			return fmt.Errorf("user address %q: domain not in Domains %q", addr, o.Domains)
		}
		if err := checkPasswdField(u, false); err != nil {
			return fmt.Errorf("dovecot user %q of %s: %v", u, addr, err)
		}
		if o.Dovecot != nil {
			if _, ok := o.Dovecot.Users[u]; !ok {
				return fmt.Errorf("address %s goes to dovecot user %q, who does not exist (have %v): add it to DovecotOptions.Users", addr, u, slices.Sorted(maps.Keys(o.Dovecot.Users)))
			}
		}
	}
	if len(o.AuthUsers) > 0 {
		if o.Dovecot == nil {
			return fmt.Errorf("AuthUsers needs Dovecot: its passdb checks the passwords")
		}
		for u, pw := range o.AuthUsers {
			got, ok := o.Dovecot.Users[u]
			if !ok {
				return fmt.Errorf("AuthUsers[%q]: not a dovecot user (have %v); SASL goes through Dovecot's passdb: add it to DovecotOptions.Users", u, slices.Sorted(maps.Keys(o.Dovecot.Users)))
			}
			if got != pw {
				return fmt.Errorf("AuthUsers[%q]: password differs from DovecotOptions.Users[%q]; SASL goes through Dovecot's passdb", u, u)
			}
		}
	}
	return nil
}

// checkMapToken rejects what would break an inline: table or a list in
// main.cf.
func checkMapToken(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(",={}#\\\"", r) {
			return fmt.Errorf("character %q not allowed", r)
		}
	}
	return nil
}

// openAuthSocket lets the postfix user connect to Dovecot's auth-client
// socket, for Postfix's smtpd_sasl_type = dovecot. Dovecot creates it 0600
// for its internal user; the socket lives in the instance's private
// base_dir, so opening it up reaches no other test.
func (d *Dovecot) openAuthSocket() error {
	sock := d.authSocket()
	if err := os.Chmod(sock, 0o666); err != nil {
		return fmt.Errorf("open dovecot's auth socket to postfix: %w", err)
	}
	return nil
}

// authSocket is the path of Dovecot's auth-client socket.
func (d *Dovecot) authSocket() string { return filepath.Join(d.baseDir, "auth-client") }

// writeFiles creates the directories and the TLS files. The queue and data
// directories are created by "postfix check" (post-install create-missing)
// with the owners and modes Postfix wants.
func (p *Postfix) writeFiles(o PostfixOptions) error {
	for _, dir := range []string{"conf", "queue", "log", "tls"} {
		if err := os.MkdirAll(filepath.Join(p.Dir, dir), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if !o.TLS {
		return nil
	}
	ca, err := remotetest.NewCA()
	if err != nil {
		return err
	}
	p.CA = ca
	certPEM, keyPEM, err := ca.KeyPEM()
	if err != nil {
		return fmt.Errorf("encode server key: %w", err)
	}
	p.CAFile = filepath.Join(p.Dir, "tls", "ca.pem")
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{p.CAFile, ca.CAPEM, 0o644},
		{filepath.Join(p.Dir, "tls", "cert.pem"), certPEM, 0o644},
		{filepath.Join(p.Dir, "tls", "key.pem"), keyPEM, 0o600}, // smtpd reads it as root
	} {
		if err := os.WriteFile(f.name, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}

// writeConfig writes main.cf and master.cf for the current port.
func (p *Postfix) writeConfig(o PostfixOptions) error {
	for name, text := range map[string]string{"main.cf": p.mainCF(o), "master.cf": p.masterCF()} {
		path := filepath.Join(p.confDir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// mainCF renders main.cf. Everything a packaged /etc/postfix/main.cf
// would set is set here or left at Postfix's compiled-in default.
func (p *Postfix) mainCF(o PostfixOptions) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Private Postfix instance of a mailfs interop test; written by internal/interop.")
	w("compatibility_level = 3.6")
	w("queue_directory = %s", filepath.Join(p.Dir, "queue"))
	w("data_directory = %s", filepath.Join(p.Dir, "data"))
	w("mail_owner = postfix")
	w("setgid_group = postdrop")
	// The log goes to a file through postlogd (no syslog here); the file
	// must lie under one of maillog_file_prefixes (default /var).
	w("maillog_file = %s", p.logFile)
	w("maillog_file_prefixes = %s", filepath.Dir(p.logFile))
	w("")
	w("myhostname = mx.mailfs.test")
	w("mydomain = mailfs.test")
	w("myorigin = $myhostname")
	w("inet_interfaces = 127.0.0.1")
	w("inet_protocols = ipv4")
	w("mydestination =")
	w("relay_domains =")
	w("local_transport = error:5.1.1 no local delivery in this test instance")
	w("alias_maps =")
	w("alias_database =")
	w("biff = no")
	w("append_dot_mydomain = no")
	w("smtputf8_enable = yes")
	w("mynetworks = 127.0.0.0/8")
	w("smtpd_banner = $myhostname ESMTP mailfs interop")
	// Headers pass untouched (no canonicalisation, no Date/Message-ID
	// added), so tests can compare what arrives with what was sent.
	w("local_header_rewrite_clients =")
	// Tests and benchmarks measure the client, not Postfix's throttles:
	// no pause after an error reply, no pause when mail arrives faster
	// than it is delivered, quick retries of deferred mail.
	w("smtpd_error_sleep_time = 0")
	w("in_flow_delay = 0")
	w("queue_run_delay = 1s")
	w("minimal_backoff_time = 1s")
	w("maximal_backoff_time = 2s")
	w("smtpd_peername_lookup = no")
	w("")
	w("virtual_mailbox_domains = %s", strings.Join(o.Domains, ", "))
	var mailboxes, aliases []string
	for _, addr := range slices.Sorted(maps.Keys(o.Users)) {
		u := o.Users[addr]
		at := strings.LastIndexByte(addr, '@')
		// Dovecot's userdb takes the local part (%n) of the LMTP
		// recipient: an address whose local part is not the user name is
		// rewritten to user@domain first.
		if addr[:at] == u {
			mailboxes = append(mailboxes, addr+"="+u)
			continue
		}
		target := u + addr[at:]
		aliases = append(aliases, addr+"="+target)
		mailboxes = append(mailboxes, target+"="+u)
	}
	mailboxes = slices.Compact(mailboxes)
	w("virtual_mailbox_maps = inline:{ %s }", strings.Join(mailboxes, ", "))
	if len(aliases) > 0 {
		w("virtual_alias_maps = inline:{ %s }", strings.Join(aliases, ", "))
	}
	if p.dovecot != nil {
		w("virtual_transport = lmtp:inet:%s", p.dovecot.LMTPAddr())
	} else {
		w("virtual_transport = discard:no Dovecot in this test instance")
	}
	if o.No8BitMIME {
		w("smtpd_discard_ehlo_keywords = 8bitmime")
	}
	if o.RecipientLimit > 0 {
		w("smtpd_recipient_limit = %d", o.RecipientLimit)
	}
	if o.TLS {
		w("")
		w("smtpd_tls_security_level = may")
		w("smtpd_tls_cert_file = %s", filepath.Join(p.Dir, "tls", "cert.pem"))
		w("smtpd_tls_key_file = %s", filepath.Join(p.Dir, "tls", "key.pem"))
		w("smtpd_tls_loglevel = 1")
	}
	if len(o.AuthUsers) > 0 {
		w("")
		w("smtpd_sasl_auth_enable = yes")
		w("smtpd_sasl_type = dovecot")
		w("smtpd_sasl_path = %s", o.Dovecot.authSocket())
		w("smtpd_recipient_restrictions = permit_sasl_authenticated, reject")
	}
	return b.String()
}

// masterCF renders master.cf: the smtpd listener on the loopback port and
// the services a delivery needs, none chrooted (Debian's default master.cf
// chroots, which needs copies of /etc files in the queue directory).
func (p *Postfix) masterCF() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# service type private unpriv chroot wakeup maxproc command")
	w("%s:%d inet n - n - - smtpd", p.Host, p.Port)
	for _, line := range []string{
		"pickup unix n - n 60 1 pickup",
		"cleanup unix n - n - 0 cleanup",
		"qmgr unix n - n 300 1 qmgr",
		"tlsmgr unix - - n 1000? 1 tlsmgr",
		"rewrite unix - - n - - trivial-rewrite",
		"bounce unix - - n - 0 bounce",
		"defer unix - - n - 0 bounce",
		"trace unix - - n - 0 bounce",
		"verify unix - - n - 1 verify",
		"flush unix n - n 1000? 0 flush",
		"proxymap unix - - n - - proxymap",
		"smtp unix - - n - - smtp",
		"relay unix - - n - - smtp",
		"showq unix n - n - - showq",
		"error unix - - n - - error",
		"retry unix - - n - - error",
		"discard unix - - n - - discard",
		"lmtp unix - - n - - lmtp",
		"anvil unix - - n - 1 anvil",
		"scache unix - - n - 1 scache",
		"postlog unix-dgram n - n - 1 postlogd",
	} {
		w("%s", line)
	}
	return b.String()
}

// start checks the instance (postfix check creates the queue and data
// directories), runs the master in the foreground and waits for the SMTP
// greeting. On success the caller owns the master (p.proc) and stops it.
func (p *Postfix) start() error {
	_ = os.Remove(p.logFile)
	// postfix(1) writes its own errors to a terminal or syslog only; the
	// postfix-script part logs to maillog_file.
	check := exec.Command(postfixBin, "-c", p.confDir, "check")
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("postfix in %s: postfix -c %s check: %v\noutput:\n%s\nlog (%s):\n%s\n(postfix reports some errors only on a terminal: run it in one to see them)",
			p.Dir, p.confDir, err, out, p.logFile, tail(p.logFile, 20))
	}
	// -d keeps the master in the foreground and in the process group
	// startDaemon gives it; without -d it calls setsid(), which fails for
	// a process group leader. On SIGTERM it kills its own group.
	proc, err := runInstance(instance{
		name: "postfix", dir: p.Dir, logFile: p.logFile,
		path: postfixLibexec + "/master", args: []string{"-c", p.confDir, "-d"},
		addr: p.Addr(), greeting: "220 ", protocol: "SMTP",
		startTimeout: postfixStartTimeout, stopTimeout: postfixStopTimeout,
	})
	p.proc = proc
	return err
}

// Addr returns "127.0.0.1:PORT" of the smtpd listener.
func (p *Postfix) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// MasterPID returns the process id of the master, which is also the
// process group of every Postfix process of the instance.
func (p *Postfix) MasterPID() int { return p.proc.cmd.Process.Pid }

// LogTail returns the last n lines of Postfix's log, for failure messages.
func (p *Postfix) LogTail(n int) string { return tail(p.logFile, n) }

// WaitDelivered polls Dovecot (server side, with doveadm) until mailbox of
// user holds n messages, and returns them by UID (as Dovecot.Messages). It
// fails the test with the tails of Postfix's and Dovecot's logs when they
// are not there within timeout, or when there are more than n.
func (p *Postfix) WaitDelivered(t testing.TB, user, mailbox string, n int, timeout time.Duration) map[uint32][]byte {
	t.Helper()
	if p.dovecot == nil {
		t.Fatalf("postfix: WaitDelivered(%s, %s): this instance has no Dovecot (PostfixOptions.Dovecot), it discards mail", user, mailbox)
	}
	deadline := time.Now().Add(timeout)
	got := 0
	for {
		got = 0
		// A mailbox that does not exist yet holds nothing.
		if slices.Contains(p.dovecot.Mailboxes(t, user), mailbox) {
			got = len(p.dovecot.uids(t, user, mailbox))
		}
		if got == n {
			return p.dovecot.Messages(t, user, mailbox)
		}
		if got > n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("postfix: delivery to %s/%s: got %d messages after %v, want %d\npostfix queue:\n%s\npostfix log:\n%s\ndovecot log:\n%s",
		user, mailbox, got, timeout, n, p.Queue(), p.LogTail(30), p.dovecot.LogTail(10))
	return nil
}

// Queue lists the messages in Postfix's queue, one JSON object a line
// (postqueue -j), for failure messages; "" when the queue is empty.
func (p *Postfix) Queue() string {
	out, err := exec.Command("/usr/sbin/postqueue", "-c", p.confDir, "-j").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(postqueue: %v: %s)", err, bytes.TrimSpace(out))
	}
	return string(out)
}
