package interop

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// testMessage is a small RFC 5322 message with 8-bit UTF-8 in the body.
func testMessage(subject string) []byte {
	return []byte("From: Alice <alice@example.org>\r\n" +
		"To: Bob <bob@example.com>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 02 Nov 2026 09:15:00 +0100\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Grüße aus Köln — 안녕하세요.\r\n" +
		"..a line that starts with two dots\r\n")
}

// dialIMAPS logs in over implicit TLS, trusting only the instance's CA read
// from CAFile (as a tls_ca_file setting would).
func dialIMAPS(t *testing.T, d *Dovecot, user string) *imapclient.Client {
	t.Helper()
	pem, err := os.ReadFile(d.CAFile)
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file %s holds no certificate", d.CAFile)
	}
	c, err := imapclient.DialTLS(d.IMAPSAddr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("dial IMAPS %s: %v", d.IMAPSAddr(), err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, d.Users[user]).Wait(); err != nil {
		t.Fatalf("login %s over IMAPS: %v\nlog:\n%s", user, err, d.LogTail(10))
	}
	return c
}

// fetchAll returns UID → BODY.PEEK[] of every message in mailbox.
func fetchAll(t *testing.T, c *imapclient.Client, mailbox string) map[uint32][]byte {
	t.Helper()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("select %s: %v", mailbox, err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", mailbox, err)
	}
	out := map[uint32][]byte{}
	for _, m := range msgs {
		out[uint32(m.UID)] = m.FindBodySection(section)
	}
	return out
}

func only(t *testing.T, what string, m map[uint32][]byte) (uint32, []byte) {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("%s: got %d messages, want 1", what, len(m))
	}
	for uid, b := range m {
		return uid, b
	}
	panic("unreachable")
}

func TestDovecotDeliverAndRead(t *testing.T) {
	d := StartDovecot(t, nil)
	if d.Users["alice"] != "secret" {
		t.Fatalf("default users: got %v, want alice:secret", d.Users)
	}
	msg := testMessage("Deliver and read")
	d.Deliver(t, "alice", "INBOX", msg)

	// Server side, without IMAP.
	uid, got := only(t, "doveadm fetch INBOX", d.Messages(t, "alice", "INBOX"))
	if !bytes.Equal(got, msg) {
		t.Errorf("doveadm text of INBOX/%d:\ngot  %q\nwant %q", uid, got, msg)
	}
	if got, want := d.Flags(t, "alice", "INBOX"), map[uint32][]string{uid: {}}; !equalFlags(got, want) {
		t.Errorf("flags after delivery: got %v, want %v", got, want)
	}

	// Over IMAPS, as a client sees it.
	c := dialIMAPS(t, d, "alice")
	imapUID, body := only(t, "IMAP fetch INBOX", fetchAll(t, c, "INBOX"))
	if imapUID != uid || !bytes.Equal(body, msg) {
		t.Errorf("IMAP BODY.PEEK[] of INBOX:\ngot  %d %q\nwant %d %q", imapUID, body, uid, msg)
	}
	if got, want := d.Flags(t, "alice", "INBOX")[uid], []string{}; !slices.Equal(got, want) {
		t.Errorf("flags after BODY.PEEK[]: got %v, want %v (peek must not set \\Seen)", got, want)
	}

	// A flag stored over IMAP shows in the server-side view.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("select INBOX read-write: %v", err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, imap.FlagSeen}}
	if err := c.Store(imap.UIDSetNum(imap.UID(uid)), store, nil).Close(); err != nil {
		t.Fatalf("store flags: %v", err)
	}
	if got, want := d.Flags(t, "alice", "INBOX"), map[uint32][]string{uid: {`\Flagged`, `\Seen`}}; !equalFlags(got, want) {
		t.Errorf("flags after STORE: got %v, want %v", got, want)
	}
}

func TestDovecotMailboxes(t *testing.T) {
	d := StartDovecot(t, nil)
	d.CreateMailbox(t, "alice", "보관함")
	// Deliver creates a missing mailbox, parents included.
	d.Deliver(t, "alice", "Archive/2024", testMessage("nested"))
	d.Deliver(t, "alice", "보관함", testMessage("korean folder"))

	mailboxes := d.Mailboxes(t, "alice")
	for _, want := range []string{"INBOX", "보관함", "Archive", "Archive/2024"} {
		if !slices.Contains(mailboxes, want) {
			t.Errorf("doveadm mailbox list: got %q, want it to hold %q", mailboxes, want)
		}
	}

	c := dialIMAPS(t, d, "alice")
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	names := map[string]rune{}
	for _, l := range list {
		names[l.Mailbox] = l.Delim
	}
	for _, want := range []string{"INBOX", "보관함", "Archive", "Archive/2024"} {
		if delim, ok := names[want]; !ok || delim != '/' {
			t.Errorf("LIST: got %v, want %q with delimiter '/'", names, want)
		}
	}

	uid, body := only(t, "IMAP fetch 보관함", fetchAll(t, c, "보관함"))
	if want := testMessage("korean folder"); !bytes.Equal(body, want) {
		t.Errorf("IMAP 보관함/%d: got %q, want %q", uid, body, want)
	}
	if got := d.Messages(t, "alice", "보관함"); !bytes.Equal(got[uid], body) {
		t.Errorf("doveadm 보관함/%d: got %q, want %q", uid, got[uid], body)
	}
	if got := d.Flags(t, "alice", "Archive/2024"); len(got) != 1 {
		t.Errorf("flags of Archive/2024: got %v, want one message", got)
	}
	if got := d.Flags(t, "alice", "Archive"); len(got) != 0 {
		t.Errorf("flags of empty Archive: got %v, want none", got)
	}
}

func TestDovecotSpecialUseAndSeparator(t *testing.T) {
	d := StartDovecot(t, &DovecotOptions{SpecialUse: true, Separator: "."})
	c := dialIMAPS(t, d, "alice")
	if !c.Caps().Has(imap.CapSpecialUse) {
		t.Fatalf("capabilities: got %v, want SPECIAL-USE", c.Caps())
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatalf("LIST RETURN (SPECIAL-USE): %v", err)
	}
	got := map[string]imap.MailboxAttr{}
	for _, l := range list {
		if l.Delim != '.' {
			t.Errorf("LIST %s: got delimiter %q, want '.'", l.Mailbox, l.Delim)
		}
		for _, a := range l.Attrs {
			switch a {
			case imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrDrafts, imap.MailboxAttrArchive:
				got[l.Mailbox] = a
			}
		}
	}
	want := map[string]imap.MailboxAttr{
		"Sent": imap.MailboxAttrSent, "Trash": imap.MailboxAttrTrash,
		"Drafts": imap.MailboxAttrDrafts, "Archive": imap.MailboxAttrArchive,
	}
	for name, attr := range want {
		if got[name] != attr {
			t.Errorf("special use of %s: got %q, want %q (all: %v)", name, got[name], attr, got)
		}
	}
}

func TestDovecotStartTLS(t *testing.T) {
	d := StartDovecot(t, nil)
	c, err := imapclient.DialStartTLS(d.IMAPAddr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: d.CA.Pool}})
	if err != nil {
		t.Fatalf("STARTTLS on %s: %v", d.IMAPAddr(), err)
	}
	defer c.Close()
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP: %v", err)
	}

	// A certificate from another CA must be refused.
	other := &tls.Config{RootCAs: x509.NewCertPool()}
	if c2, err := imapclient.DialStartTLS(d.IMAPAddr(), &imapclient.Options{TLSConfig: other}); err == nil {
		c2.Close()
		t.Errorf("STARTTLS with an empty root pool: got success, want a certificate error")
	}

	// Plaintext login is allowed (disable_plaintext_auth = no); a wrong
	// password fails.
	p, err := imapclient.DialInsecure(d.IMAPAddr(), nil)
	if err != nil {
		t.Fatalf("dial plain IMAP: %v", err)
	}
	defer p.Close()
	if err := p.Login("alice", "wrong").Wait(); err == nil {
		t.Errorf("login with a wrong password: got success, want failure")
	}
}

func TestDovecotOtherListeners(t *testing.T) {
	d := StartDovecot(t, nil)
	for _, tc := range []struct {
		name, addr, prefix string
		tls                bool
	}{
		{"POP3", d.POP3Addr(), "+OK", false},
		{"POP3S", d.POP3SAddr(), "+OK", true},
		{"LMTP", d.LMTPAddr(), "220 ", false},
	} {
		var line string
		var err error
		if tc.tls {
			var conn *tls.Conn
			conn, err = tls.Dial("tcp", tc.addr, &tls.Config{RootCAs: d.CA.Pool})
			if err == nil {
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, err = bufio.NewReader(conn).ReadString('\n')
				conn.Close()
			}
		} else {
			line, err = readGreeting(tc.addr, 5*time.Second)
		}
		if err != nil || !strings.HasPrefix(line, tc.prefix) {
			t.Errorf("%s greeting on %s: got %q, %v; want %q…", tc.name, tc.addr, line, err, tc.prefix)
		}
	}
}

// TestDovecotParallel runs two instances side by side: separate ports,
// directories and users.
func TestDovecotParallel(t *testing.T) {
	type seen struct {
		ports []int
		dir   string
	}
	var mu sync.Mutex
	var instances []seen
	t.Run("group", func(t *testing.T) {
		for _, user := range []string{"bob", "carol"} {
			t.Run(user, func(t *testing.T) {
				t.Parallel()
				d := StartDovecot(t, &DovecotOptions{Users: map[string]string{user: "pw-" + user}})
				mu.Lock()
				instances = append(instances, seen{[]int{d.IMAPPort, d.IMAPSPort, d.POP3Port, d.POP3SPort, d.LMTPPort}, d.Dir})
				mu.Unlock()
				d.Deliver(t, user, "INBOX", testMessage("for "+user))
				c := dialIMAPS(t, d, user)
				_, body := only(t, "IMAP fetch INBOX of "+user, fetchAll(t, c, "INBOX"))
				if want := testMessage("for " + user); !bytes.Equal(body, want) {
					t.Errorf("INBOX of %s: got %q, want %q", user, body, want)
				}
			})
		}
	})
	if len(instances) != 2 {
		t.Fatalf("got %d instances, want 2", len(instances))
	}
	used := map[int]bool{}
	for _, in := range instances {
		for _, p := range in.ports {
			if used[p] {
				t.Errorf("port %d used twice: %v", p, instances)
			}
			used[p] = true
		}
	}
	if instances[0].dir == instances[1].dir {
		t.Errorf("both instances in %s", instances[0].dir)
	}
}

// TestDovecotStopsEverything checks that the cleanup leaves no process and
// no socket directory behind, even with a client still connected.
func TestDovecotStopsEverything(t *testing.T) {
	var pgid int
	var base string
	t.Run("instance", func(t *testing.T) {
		d := StartDovecot(t, nil)
		pgid, base = d.proc.cmd.Process.Pid, d.baseDir
		c := dialIMAPS(t, d, "alice") // an imap child process
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("select: %v", err)
		}
		if len(groupMembers(pgid)) < 3 {
			t.Fatalf("processes of dovecot: got %v, want master and children", groupMembers(pgid))
		}
	})
	if left := groupMembers(pgid); len(left) != 0 {
		t.Errorf("after cleanup: got processes %v, want none", left)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("after cleanup: base_dir %s still there (%v)", base, err)
	}
}

func equalFlags(got, want map[uint32][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for uid, w := range want {
		g, ok := got[uid]
		if !ok {
			return false
		}
		g, w = slices.Clone(g), slices.Clone(w)
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			return false
		}
	}
	return true
}
