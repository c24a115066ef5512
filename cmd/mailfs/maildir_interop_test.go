package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// The Maildir view (MOUNT/.maildir/ACCOUNT/FOLDER/{cur,new,tmp}) driven by
// the programs a user points at it — mutt, mblaze, notmuch, a delivery
// agent's tmp/-then-rename — against a real Dovecot; every effect is
// checked over an IMAP connection of the test's own.

// nestedFolder is a second-level folder of the Maildir tests' account,
// holding nestedMail, whose body has a word no other message has.
const nestedFolder = "Projects/2026"

var nestedMail = []byte("From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n" +
	"Subject: Concert plan\r\nDate: Tue, 17 Nov 2026 10:00:00 +0900\r\nMessage-ID: <nested@example.org>\r\n\r\n" +
	"The xylophone player cancelled.\r\n")

// maildirEnv is a Dovecot whose user alice has testMail 1, 2 and 3
// ("Quarterly report", "Lunch", "Invoice", all unread) in INBOX as uids,
// nestedMail in nestedFolder, and empty Sent, Trash (\Trash), Drafts and
// Archive; cfg mounts her account as "dove".
type maildirEnv struct {
	view *remotetest.View
	uids []uint32
	cfg  string
	mnt  string      // set by mount
	logs *syncBuffer // the mount's log, set by mount or by the test that starts one
}

// newMaildirEnv starts the Dovecot of a Maildir test, after checking that
// the programs progs (name and Debian package, pairwise) are installed.
func newMaildirEnv(t *testing.T, progs ...string) *maildirEnv {
	t.Helper()
	for i := 0; i+1 < len(progs); i += 2 {
		interop.RequireProgram(t, progs[i], progs[i+1])
	}
	d := interop.StartDovecot(t, &interop.DovecotOptions{SpecialUse: true})
	for i, subject := range []string{"Quarterly report", "Lunch", "Invoice"} {
		d.Deliver(t, "alice", "INBOX", testMail(i+1, subject))
	}
	d.Deliver(t, "alice", nestedFolder, nestedMail)
	view := &remotetest.View{Addr: d.IMAPSAddr(), Username: "alice", Password: "secret",
		TLS: &tls.Config{RootCAs: d.CA.Pool}}
	uids := serverUIDs(t, view, "INBOX")
	if len(uids) != 3 {
		t.Fatalf("Dovecot INBOX has UIDs %v, want 3", uids)
	}
	return &maildirEnv{view: view, uids: uids, cfg: dovecotConfig(t, d, d.IMAPSPort, "implicit")}
}

// mount mounts the account in this process (with -v, whose log a failure
// shows) until the test ends and returns the account's Maildir view,
// MOUNT/.maildir/dove.
func (e *maildirEnv) mount(t *testing.T) string {
	t.Helper()
	e.mnt = t.TempDir()
	e.logs = runMount(t, "mount", "-v", "-config", e.cfg, e.mnt)
	return filepath.Join(e.mnt, ".maildir", "dove")
}

// log returns the last n lines of the mount's log.
func (e *maildirEnv) log(n int) string {
	if e.logs == nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(e.logs.String(), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// flags returns the flags of message uid of mailbox on the server, without
// \Recent, sorted; it fails the test when there is no such message.
func (e *maildirEnv) flags(t *testing.T, mailbox string, uid uint32) []string {
	t.Helper()
	all, err := e.view.Flags(mailbox)
	if err != nil {
		t.Fatalf("server flags of %s: %v", mailbox, err)
	}
	fl, ok := all[uid]
	if !ok {
		t.Fatalf("server %s has no UID %d (has %v)", mailbox, uid, all)
	}
	return normFlags(fl)
}

// wantFlags checks that message uid of mailbox has exactly the flags want
// on the server (\Recent aside).
func (e *maildirEnv) wantFlags(t *testing.T, what, mailbox string, uid uint32, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := e.flags(t, mailbox, uid); !slices.Equal(got, want) {
		t.Errorf("%s: server flags of %s/%d are %v, want %v\nmailfs log:\n%s", what, mailbox, uid, got, want, e.log(15))
	}
}

// normFlags returns flags without \Recent, sorted.
func normFlags(flags []string) []string {
	out := []string{}
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// serverFlags returns the flags (without \Recent) of every message of
// every mailbox on the server that has messages.
func (e *maildirEnv) serverFlags(t *testing.T) map[string]map[uint32][]string {
	t.Helper()
	all := allFlags(t, e.view)
	for _, m := range all {
		for uid, fl := range m {
			m[uid] = normFlags(fl)
		}
	}
	return all
}

// selectable returns the server's selectable mailboxes, sorted.
func (e *maildirEnv) selectable(t *testing.T) []string {
	t.Helper()
	mbs, err := e.view.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mb := range mbs {
		if _, err := e.view.UIDs(mb); err == nil { // \Noselect fails
			out = append(out, mb)
		}
	}
	return out
}

// count returns the number of messages on the server.
func (e *maildirEnv) count(t *testing.T) int {
	t.Helper()
	n := 0
	for _, m := range e.serverFlags(t) {
		n += len(m)
	}
	return n
}

// maildirFile returns the path of message uid in the view's folder dir
// (cur/ or new/, whichever lists it) and fails the test when neither does.
func maildirFile(t *testing.T, dir string, uid uint32) string {
	t.Helper()
	if p, ok := findMaildirFile(t, dir, uid); ok {
		return p
	}
	t.Fatalf("neither %s/cur (%v) nor new (%v) lists UID %d", dir,
		dirNames(t, filepath.Join(dir, "cur")), dirNames(t, filepath.Join(dir, "new")), uid)
	return ""
}

// findMaildirFile returns the path of message uid in cur/ or new/ of dir.
func findMaildirFile(t *testing.T, dir string, uid uint32) (string, bool) {
	t.Helper()
	re := regexp.MustCompile(`^\d+\.U` + strconv.FormatUint(uint64(uid), 10) + `V\d+\.mailfs:2,[DFPRST]*$`)
	for _, sub := range []string{"cur", "new"} {
		for _, n := range dirNames(t, filepath.Join(dir, sub)) {
			if re.MatchString(n) {
				return filepath.Join(dir, sub, n), true
			}
		}
	}
	return "", false
}

// wantListed checks that message uid is listed in dir's sub (cur or new)
// and that its name ends in ":2,"+letters.
func wantListed(t *testing.T, dir string, uid uint32, sub, letters string) {
	t.Helper()
	p := maildirFile(t, dir, uid)
	if got := filepath.Base(filepath.Dir(p)); got != sub {
		t.Errorf("UID %d is listed in %s/, want %s/ (%s)", uid, got, sub, p)
	}
	if !strings.HasSuffix(p, ":2,"+letters) {
		t.Errorf("UID %d is listed as %s, want the flag letters %q", uid, filepath.Base(p), letters)
	}
}

// hasMessage reports whether mailbox on the server holds a message whose
// text contains every string of parts, and returns its UID.
func (e *maildirEnv) hasMessage(t *testing.T, mailbox string, parts ...string) (uint32, bool) {
	t.Helper()
	for _, uid := range serverUIDs(t, e.view, mailbox) {
		body, err := e.view.Body(mailbox, uid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(parts, func(p string) bool { return !bytes.Contains(body, []byte(p)) }) {
			return uid, true
		}
	}
	return 0, false
}

// runProgram runs a command with env added to this process's environment
// and returns its standard output; it fails the test, with both outputs,
// unless the command exits 0.
func runProgram(t *testing.T, stdin []byte, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// letters returns the Maildir flag letters of the IMAP flags fl, in ASCII
// order, as the view names a message.
func letters(fl []string) string {
	var b strings.Builder
	for _, lf := range []struct{ letter, flag string }{
		{"D", `\Draft`}, {"F", `\Flagged`}, {"P", `$Forwarded`}, {"R", `\Answered`}, {"S", `\Seen`}, {"T", `\Deleted`},
	} {
		if slices.ContainsFunc(fl, func(f string) bool { return strings.EqualFold(f, lf.flag) }) {
			b.WriteString(lf.letter)
		}
	}
	return b.String()
}

// muttrc is the configuration of a non-interactive mutt on the view's
// account directory (%s): Maildir, INBOX as spool, nothing asked, cached
// or recorded.
const muttrc = `set mbox_type=Maildir
set folder="%s"
set spoolfile="+INBOX"
set record=""
set postponed=""
set confirmappend=no
set confirmcreate=no
set delete=yes
set quit=yes
set move=no
set mark_old=no
set maildir_trash=no
set header_cache=""
set message_cachedir=""
set wait_key=no
set beep=no
set sleep_time=0
set mail_check=0
set timeout=1
set charset="utf-8"
`

// muttRun is what one mutt run left: its screen (without escape codes)
// and the errors of its debug log.
type muttRun struct {
	keys, screen, errors string
}

func (m muttRun) String() string {
	return fmt.Sprintf("mutt run %q\nscreen:\n%s\nerrors in mutt's debug log:\n%s", m.keys, m.screen, m.errors)
}

// escapes are the terminal control sequences of a screen.
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78M])`)

// screenText returns the text of a terminal session's output.
func screenText(out []byte) string {
	s := escapes.ReplaceAllString(string(out), "")
	var lines []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// runMutt runs mutt once on the Maildir view acct (an account's
// directory; INBOX is opened), in a pseudo-terminal of script(1) as mutt
// needs one, typing keys (a push string). It fails the test, with mutt's
// screen, when mutt does not finish within 10 s or fails.
func runMutt(t *testing.T, acct, keys string) muttRun {
	t.Helper()
	if strings.ContainsAny(keys, `"\`) {
		t.Fatalf("keys %q: no quotes or backslashes in a push string here", keys)
	}
	home := t.TempDir()
	rc := filepath.Join(home, "muttrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(muttrc, acct)+"push \""+keys+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("timeout", "-k", "1", "10", "script", "-qec", "mutt -d 2 -n -F "+shellQuote(rc), "/dev/null")
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "TERM=xterm", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME="+home,
		"MAIL="+filepath.Join(acct, "INBOX"), "EDITOR=false", "VISUAL=false", "PAGER=cat")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	m := muttRun{keys: keys, screen: screenText(out.Bytes())}
	if dbg, err := os.ReadFile(filepath.Join(home, ".muttdebug0")); err == nil {
		for _, l := range strings.Split(string(dbg), "\n") {
			if strings.Contains(l, "rror") || strings.Contains(l, "unable") || strings.Contains(l, "failed") {
				m.errors += l + "\n"
			}
		}
	}
	// timeout exits 124 after its TERM, or dies of the KILL it sends 1 s
	// later.
	if ps := cmd.ProcessState; ps != nil && (ps.ExitCode() == 124 || ps.Sys().(syscall.WaitStatus).Signaled()) {
		t.Fatalf("mutt did not finish within 10 s (it waits for a key?): %v", m)
	}
	if err != nil {
		t.Fatalf("mutt: %v; %v", err, m)
	}
	return m
}

// TestDovecotMaildirMutt drives mutt on the Maildir view of INBOX, one
// small run per action: mark a message read and flagged, delete one,
// save one to =Archive. Each is checked on the server: STORE of \Seen and
// \Flagged; the deleted message moved to Trash (the account's delete
// rule); the saved one appended to Archive and, as mutt then deletes the
// original, the original moved from INBOX to Trash too.
func TestDovecotMaildirMutt(t *testing.T) {
	e := newMaildirEnv(t, "mutt", "mutt", "script", "bsdutils", "timeout", "coreutils")
	acct := e.mount(t)
	inbox := filepath.Join(acct, "INBOX")
	quarterly, lunch, invoice := e.uids[0], e.uids[1], e.uids[2]

	t.Run("mark read and flagged", func(t *testing.T) {
		m := runMutt(t, acct, "<limit>~s Invoice<enter><first-entry><set-flag>!<clear-flag>N<sync-mailbox><exit>")
		e.wantFlags(t, m.String(), "INBOX", invoice, `\Flagged`, `\Seen`)
		for _, uid := range []uint32{quarterly, lunch} {
			e.wantFlags(t, "a message mutt was not told to change", "INBOX", uid)
		}
		wantListed(t, inbox, invoice, "cur", "FS")
	})

	t.Run("delete", func(t *testing.T) {
		m := runMutt(t, acct, "<limit>~s Lunch<enter><first-entry><delete-message><sync-mailbox><exit>")
		if got := serverUIDs(t, e.view, "INBOX"); slices.Contains(got, lunch) {
			t.Fatalf("server INBOX %v still has the deleted UID %d\n%v\nmailfs log:\n%s", got, lunch, m, e.log(20))
		}
		trash := serverUIDs(t, e.view, "Trash")
		if len(trash) != 1 {
			t.Fatalf("server Trash has UIDs %v, want the deleted message\n%v", trash, m)
		}
		wantBody(t, e.view, "Trash", trash[0], testMail(2, "Lunch"))
		wantListed(t, filepath.Join(acct, "Trash"), trash[0], "new", "")
	})

	t.Run("save to another folder", func(t *testing.T) {
		m := runMutt(t, acct, "<limit>~s Quarterly<enter><first-entry><save-message>=Archive<enter><sync-mailbox><exit>")
		uid, ok := e.hasMessage(t, "Archive", "Subject: Quarterly report\r\n", "\r\n\r\nBody of message 1.\r\n")
		if !ok {
			t.Errorf("server Archive has no copy of the saved message\n%v\nmailfs log:\n%s", m, e.log(20))
		} else {
			wantListed(t, filepath.Join(acct, "Archive"), uid, "new", "")
		}
		// mutt's save deletes the original, which the delete rule moves to
		// Trash: the message ends up in Archive (mutt's copy) and in Trash.
		if got := serverUIDs(t, e.view, "INBOX"); !slices.Equal(got, []uint32{invoice}) {
			t.Errorf("server INBOX has UIDs %v after the save, want only %d (the saved original deleted)\n%v\nmailfs log:\n%s", got, invoice, m, e.log(20))
		}
		if _, ok := e.hasMessage(t, "Trash", string(testMail(1, "Quarterly report"))); !ok {
			t.Errorf("server Trash lacks the saved message's original (mutt deletes it after saving; rm goes to Trash)\n%v", m)
		}
	})
}

// TestDovecotMaildirMblaze uses mblaze on the Maildir view: mdirs finds
// every folder, mlist and mscan list every message with its subject and
// unread mark, mflag sets and clears flags (STORE on the server), mdeliver
// delivers into new/ and cur/ (APPEND) and mrefile moves (MOVE).
func TestDovecotMaildirMblaze(t *testing.T) {
	e := newMaildirEnv(t, "mdirs", "mblaze", "mlist", "mblaze", "mscan", "mblaze", "mflag", "mblaze",
		"mdeliver", "mblaze", "mrefile", "mblaze")
	acct := e.mount(t)
	env := []string{"MBLAZE=" + t.TempDir(), "HOME=" + t.TempDir(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "MBLAZE_PAGER=cat"}
	inbox, archive := filepath.Join(acct, "INBOX"), filepath.Join(acct, "Archive")
	quarterly, lunch, invoice := e.uids[0], e.uids[1], e.uids[2]

	// mdirs -a (nested folders are not Maildir++ .names) lists the
	// selectable folders, nested ones too.
	var dirs []string
	for _, l := range strings.Split(strings.TrimSpace(runProgram(t, nil, env, "mdirs", "-a", acct)), "\n") {
		rel, err := filepath.Rel(acct, l)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	slices.Sort(dirs)
	if want := e.selectable(t); !slices.Equal(dirs, want) || !slices.Contains(dirs, nestedFolder) {
		t.Errorf("mdirs -a lists %q, want the server's selectable folders %q", dirs, want)
	}

	// scan returns mscan's unread/flagged mark of every message of folder
	// by subject, checking that mlist lists as many as the server has.
	scan := func(t *testing.T, folder string) map[string]string {
		t.Helper()
		list := runProgram(t, nil, env, "mlist", filepath.Join(acct, filepath.FromSlash(folder)))
		if n, want := strings.Count(list, "\n"), len(serverUIDs(t, e.view, folder)); n != want {
			t.Errorf("mlist %s lists %d messages, the server has %d:\n%s", folder, n, want, list)
		}
		out := runProgram(t, []byte(list), env, "mscan", "-f", "%u|%s")
		marks := map[string]string{}
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			mark, subject, ok := strings.Cut(l, "|")
			if !ok {
				t.Fatalf("mscan printed %q", out)
			}
			marks[strings.TrimSpace(subject)] = mark
		}
		return marks
	}
	if got, want := scan(t, "INBOX"), map[string]string{"Quarterly report": ".", "Lunch": ".", "Invoice": "."}; !equalMarks(got, want) {
		t.Errorf("mlist INBOX | mscan: got %q, want %q (. unread)", got, want)
	}
	if got, want := scan(t, nestedFolder), map[string]string{"Concert plan": "."}; !equalMarks(got, want) {
		t.Errorf("mlist %s | mscan: got %q, want %q", nestedFolder, got, want)
	}

	t.Run("mflag", func(t *testing.T) {
		p := maildirFile(t, inbox, lunch)
		if filepath.Base(filepath.Dir(p)) != "new" {
			t.Fatalf("unread message listed as %s, want it in new/", p)
		}
		runProgram(t, nil, env, "mflag", "-S", p)
		e.wantFlags(t, "mflag -S", "INBOX", lunch, `\Seen`)
		wantListed(t, inbox, lunch, "cur", "S")
		runProgram(t, nil, env, "mflag", "-F", maildirFile(t, inbox, lunch))
		e.wantFlags(t, "mflag -F", "INBOX", lunch, `\Flagged`, `\Seen`)
		wantListed(t, inbox, lunch, "cur", "FS")
		runProgram(t, nil, env, "mflag", "-f", maildirFile(t, inbox, lunch))
		e.wantFlags(t, "mflag -f", "INBOX", lunch, `\Seen`)

		// Unread again after being read: the message stays in cur/, where
		// mflag renamed it.
		runProgram(t, nil, env, "mflag", "-S", "-F", maildirFile(t, inbox, quarterly))
		e.wantFlags(t, "mflag -S -F", "INBOX", quarterly, `\Flagged`, `\Seen`)
		runProgram(t, nil, env, "mflag", "-s", maildirFile(t, inbox, quarterly))
		e.wantFlags(t, "mflag -s", "INBOX", quarterly, `\Flagged`)
		wantListed(t, inbox, quarterly, "cur", "F")

		e.wantFlags(t, "a message mflag was not given", "INBOX", invoice)
		if got, want := scan(t, "INBOX"), map[string]string{"Quarterly report": "*", "Lunch": " ", "Invoice": "."}; !equalMarks(got, want) {
			t.Errorf("mlist INBOX | mscan after mflag: got %q, want %q (* flagged, . unread)", got, want)
		}
	})

	t.Run("mdeliver", func(t *testing.T) {
		before := serverUIDs(t, e.view, "Archive")
		msg := []byte("From: Dave <dave@example.org>\r\nTo: alice@example.org\r\nSubject: Delivered by mdeliver\r\n" +
			"Message-ID: <mdeliver-1@example.org>\r\n\r\nA new message.\r\n")
		runProgram(t, msg, env, "mdeliver", archive)
		uid := onlyNew(t, before, serverUIDs(t, e.view, "Archive"))
		wantBody(t, e.view, "Archive", uid, msg)
		e.wantFlags(t, "mdeliver", "Archive", uid)
		wantListed(t, archive, uid, "new", "")

		before = serverUIDs(t, e.view, "Archive")
		msg = []byte("From: Dave <dave@example.org>\r\nTo: alice@example.org\r\nSubject: Filed by mdeliver\r\n" +
			"Message-ID: <mdeliver-2@example.org>\r\n\r\nAn old, flagged message.\r\n")
		runProgram(t, msg, env, "mdeliver", "-c", "-X", "FS", archive)
		uid = onlyNew(t, before, serverUIDs(t, e.view, "Archive"))
		wantBody(t, e.view, "Archive", uid, msg)
		e.wantFlags(t, "mdeliver -c -X FS", "Archive", uid, `\Flagged`, `\Seen`)
		wantListed(t, archive, uid, "cur", "FS")
	})

	t.Run("mrefile", func(t *testing.T) {
		runProgram(t, nil, env, "mrefile", maildirFile(t, inbox, invoice), archive)
		if got := serverUIDs(t, e.view, "INBOX"); slices.Contains(got, invoice) {
			t.Errorf("server INBOX %v still has the refiled UID %d", got, invoice)
		}
		uid, ok := e.hasMessage(t, "Archive", string(testMail(3, "Invoice")))
		if !ok {
			t.Fatalf("server Archive lacks the refiled message\nmailfs log:\n%s", e.log(20))
		}
		e.wantFlags(t, "mrefile", "Archive", uid)
		// mrefile names it in cur/ without S: unread, and kept in cur/.
		wantListed(t, archive, uid, "cur", "")
	})
}

// equalMarks compares mscan's marks by subject.
func equalMarks(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDovecotMaildirNotmuch indexes the Maildir view with notmuch: notmuch
// new finds every message and changes no flag; a search by a word of a
// body finds exactly its message, under the view's name. With
// maildir.synchronize_flags, notmuch tag renames the files: -unread sets
// \Seen and +flagged \Flagged on the server, and nothing else changes;
// the next notmuch new finds the names it gave.
func TestDovecotMaildirNotmuch(t *testing.T) {
	e := newMaildirEnv(t, "notmuch", "notmuch")
	acct := e.mount(t)
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(home, "notmuch-config")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`[database]
path=%s
mail_root=%s
[user]
name=Alice
primary_email=alice@example.org
[new]
tags=unread;inbox;
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=true
`, filepath.Join(home, "db"), filepath.Join(e.mnt, ".maildir"))), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"NOTMUCH_CONFIG=" + config, "HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home,
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	notmuch := func(t *testing.T, args ...string) string {
		t.Helper()
		return runProgram(t, nil, env, "notmuch", args...)
	}
	nested := serverUIDs(t, e.view, nestedFolder)
	if len(nested) != 1 {
		t.Fatalf("server %s has UIDs %v, want one", nestedFolder, nested)
	}
	before := e.serverFlags(t)

	notmuch(t, "new")
	if got, want := strings.TrimSpace(notmuch(t, "count", "*")), strconv.Itoa(e.count(t)); got != want {
		t.Errorf("notmuch count '*' = %s, want the server's %s messages", got, want)
	}
	files := strings.Fields(notmuch(t, "search", "--output=files", "xylophone"))
	if want := maildirFile(t, filepath.Join(acct, filepath.FromSlash(nestedFolder)), nested[0]); !slices.Equal(files, []string{want}) {
		t.Errorf("notmuch search --output=files xylophone: %q, want %q", files, want)
	}
	if got := strings.TrimSpace(notmuch(t, "search", "--output=messages", "xylophone")); got != "id:nested@example.org" {
		t.Errorf("notmuch search --output=messages xylophone: %q, want id:nested@example.org", got)
	}
	if got := strings.TrimSpace(notmuch(t, "search", "--output=messages", "subject:Invoice")); got != "id:w3@example.org" {
		t.Errorf("notmuch search subject:Invoice: %q, want id:w3@example.org", got)
	}
	if after := e.serverFlags(t); !equalAllFlags(before, after) {
		t.Errorf("flags changed by notmuch new and search:\nbefore %v\nafter  %v\nmailfs log:\n%s", before, after, e.log(20))
	}

	t.Run("tag", func(t *testing.T) {
		notmuch(t, "tag", "-unread", "--", "id:nested@example.org")
		e.wantFlags(t, "notmuch tag -unread", nestedFolder, nested[0], `\Seen`)
		wantListed(t, filepath.Join(acct, filepath.FromSlash(nestedFolder)), nested[0], "cur", "S")
		notmuch(t, "tag", "+flagged", "--", "id:w3@example.org")
		e.wantFlags(t, "notmuch tag +flagged", "INBOX", e.uids[2], `\Flagged`)
		inv := maildirFile(t, filepath.Join(acct, "INBOX"), e.uids[2])
		if !strings.HasSuffix(inv, ":2,F") {
			t.Errorf("flagged message listed as %s, want the letters F", inv)
		}
		if got := strings.Fields(notmuch(t, "search", "--output=files", "id:w3@example.org")); !slices.Equal(got, []string{inv}) {
			t.Errorf("notmuch knows the flagged message as %q, the view lists %q", got, inv)
		}
		after := e.serverFlags(t)
		before[nestedFolder][nested[0]] = []string{`\Seen`}
		before["INBOX"][e.uids[2]] = []string{`\Flagged`}
		if !equalAllFlags(before, after) {
			t.Errorf("server flags after notmuch tag:\ngot  %v\nwant %v", after, before)
		}
		if out := notmuch(t, "new"); !strings.Contains(out, "No new mail") {
			t.Errorf("notmuch new after tagging found changes (the view renamed what notmuch renamed?):\n%s", out)
		}
	})
}

// TestDovecotMaildirDelivery delivers into the Maildir view as a delivery
// agent does: a file written in tmp/ (listed there) and renamed into new/
// is appended unread, into cur/ with :2,S appended \Seen, and linked into
// new/ (then unlinked from tmp/) appended once. A file left in tmp/ when
// the mount stops (unmounted, or killed between write and rename) is
// never appended, and is gone when it mounts again. The mount runs as a
// process of its own, so that it can be killed.
func TestDovecotMaildirDelivery(t *testing.T) {
	e := newMaildirEnv(t)
	mnt := t.TempDir()
	e.mnt = mnt
	start := func(t *testing.T) (*exec.Cmd, chan error) {
		t.Helper()
		cmd, out, exited := startMailfs(t, mnt, "mount", "-v", "-config", e.cfg, mnt)
		e.logs = out
		deadline := time.Now().Add(20 * time.Second)
		for !isMounted(t, mnt) {
			select {
			case err := <-exited:
				t.Fatalf("mailfs exited before mounting: %v\n%s", err, out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not mounted after 20s:\n%s", mnt, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return cmd, exited
	}
	inbox := filepath.Join(mnt, ".maildir", "dove", "INBOX")
	tmp, newDir, cur := filepath.Join(inbox, "tmp"), filepath.Join(inbox, "new"), filepath.Join(inbox, "cur")
	mail := func(i int) []byte {
		return fmt.Appendf(nil, "From: Dave <dave@example.org>\r\nTo: alice@example.org\r\nSubject: Delivery %d\r\n"+
			"Message-ID: <delivery-%d@example.org>\r\n\r\nDelivered through tmp/, number %d.\r\n", i, i, i)
	}
	// write writes message i into tmp/ as name and checks that tmp/ lists it.
	write := func(t *testing.T, name string, i int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(tmp, name), mail(i), 0o600); err != nil {
			t.Fatalf("write tmp/%s: %v", name, err)
		}
		if got := dirNames(t, tmp); !slices.Equal(got, []string{name}) {
			t.Errorf("tmp/ lists %q after writing %s", got, name)
		}
	}
	wantTmpEmpty := func(t *testing.T) {
		t.Helper()
		if got := dirNames(t, tmp); len(got) != 0 {
			t.Errorf("tmp/ lists %q, want nothing", got)
		}
	}
	cmd, exited := start(t)

	t.Run("rename into new", func(t *testing.T) {
		before := serverUIDs(t, e.view, "INBOX")
		write(t, "1796000001.M1P1.host", 1)
		if err := os.Rename(filepath.Join(tmp, "1796000001.M1P1.host"), filepath.Join(newDir, "1796000001.M1P1.host")); err != nil {
			t.Fatalf("rename tmp/ to new/: %v\n%s", err, e.log(10))
		}
		wantTmpEmpty(t)
		uid := onlyNew(t, before, serverUIDs(t, e.view, "INBOX"))
		wantBody(t, e.view, "INBOX", uid, mail(1))
		e.wantFlags(t, "delivered into new/", "INBOX", uid)
		wantListed(t, inbox, uid, "new", "")
	})

	t.Run("rename into cur as seen", func(t *testing.T) {
		before := serverUIDs(t, e.view, "INBOX")
		write(t, "1796000002.M2P1.host", 2)
		if err := os.Rename(filepath.Join(tmp, "1796000002.M2P1.host"), filepath.Join(cur, "1796000002.M2P1.host:2,S")); err != nil {
			t.Fatalf("rename tmp/ to cur/: %v\n%s", err, e.log(10))
		}
		wantTmpEmpty(t)
		uid := onlyNew(t, before, serverUIDs(t, e.view, "INBOX"))
		wantBody(t, e.view, "INBOX", uid, mail(2))
		e.wantFlags(t, "delivered into cur/ as :2,S", "INBOX", uid, `\Seen`)
		wantListed(t, inbox, uid, "cur", "S")
	})

	t.Run("link into new", func(t *testing.T) {
		before := serverUIDs(t, e.view, "INBOX")
		write(t, "1796000003.M3P1.host", 3)
		if err := os.Link(filepath.Join(tmp, "1796000003.M3P1.host"), filepath.Join(newDir, "1796000003.M3P1.host")); err != nil {
			t.Fatalf("link tmp/ to new/: %v\n%s", err, e.log(10))
		}
		uid := onlyNew(t, before, serverUIDs(t, e.view, "INBOX"))
		if err := os.Remove(filepath.Join(tmp, "1796000003.M3P1.host")); err != nil {
			t.Fatalf("rm tmp/ after link: %v", err)
		}
		wantTmpEmpty(t)
		if got := serverUIDs(t, e.view, "INBOX"); !slices.Equal(got, append(slices.Clone(before), uid)) {
			t.Errorf("server INBOX %v after unlinking the tmp/ name, want %v", got, append(before, uid))
		}
		wantBody(t, e.view, "INBOX", uid, mail(3))
		e.wantFlags(t, "linked into new/", "INBOX", uid)
		wantListed(t, inbox, uid, "new", "")
	})

	// A file written in tmp/ but never renamed, when the mount stops.
	n := e.count(t)
	t.Run("unmounted before the rename", func(t *testing.T) {
		write(t, "1796000004.M4P1.host", 4)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("mailfs after SIGTERM: %v, want exit 0\n%s", err, e.log(20))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("mailfs still running 30s after SIGTERM\n%s", e.log(20))
		}
		if isMounted(t, mnt) {
			t.Fatalf("%s still mounted after mailfs exited", mnt)
		}
		if got := e.count(t); got != n {
			t.Errorf("the server has %d messages after unmounting with a file in tmp/, want %d", got, n)
		}
	})
	t.Run("killed before the rename", func(t *testing.T) {
		cmd, exited := start(t)
		wantTmpEmpty(t)
		write(t, "1796000005.M5P1.host", 5)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		syscall.Unmount(mnt, syscall.MNT_DETACH) // the dead mount
		if got := e.count(t); got != n {
			t.Errorf("the server has %d messages after mailfs was killed with a file in tmp/, want %d", got, n)
		}
		cmd, exited = start(t)
		wantTmpEmpty(t)
		if got, want := len(dirNames(t, cur))+len(dirNames(t, newDir)), len(serverUIDs(t, e.view, "INBOX")); got != want {
			t.Errorf("INBOX's cur/ and new/ list %d messages after the restart, the server has %d", got, want)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("mailfs still running 30s after SIGTERM")
		}
	})
}

// TestDovecotMaildirReadingChangesNothing reads every message of the
// Maildir view (find -exec cat, then each file compared with the server's
// bytes): read messages are in cur/, unread ones in new/, named by their
// flags, and no flag changes on the server. The mount's root does not list
// .maildir.
func TestDovecotMaildirReadingChangesNothing(t *testing.T) {
	e := newMaildirEnv(t, "find", "findutils", "cat", "coreutils")
	for uid, fl := range map[uint32][]string{e.uids[0]: {`\Seen`}, e.uids[2]: {`\Flagged`, `\Answered`, `\Seen`}} {
		if err := e.view.SetFlags("INBOX", uid, fl); err != nil {
			t.Fatal(err)
		}
	}
	acct := e.mount(t)
	if names := dirNames(t, e.mnt); slices.Contains(names, ".maildir") {
		t.Errorf("ls -a MOUNT lists %q: .maildir should be hidden", names)
	}
	before := e.serverFlags(t)

	out := runProgram(t, nil, nil, "find", filepath.Join(e.mnt, ".maildir"), "-type", "f", "-exec", "cat", "{}", "+")
	size, n := 0, 0
	for mb, msgs := range before {
		dir := filepath.Join(acct, filepath.FromSlash(mb))
		for uid, fl := range msgs {
			sub := "new"
			if slices.Contains(fl, `\Seen`) {
				sub = "cur"
			}
			wantListed(t, dir, uid, sub, letters(fl))
			got, err := os.ReadFile(maildirFile(t, dir, uid))
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.view.Body(mb, uid)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%d read through the view:\n%q\nthe server has\n%q", mb, uid, got, want)
			}
			size += len(want)
			n++
		}
		if got := len(dirNames(t, filepath.Join(dir, "cur"))) + len(dirNames(t, filepath.Join(dir, "new"))); got != len(msgs) {
			t.Errorf("%s: cur/ and new/ list %d files, the server has %d messages", mb, got, len(msgs))
		}
	}
	if n != 4 || len(out) != size {
		t.Errorf("cat read %d bytes of %d messages, want %d bytes (every message once)", len(out), n, size)
	}
	if after := e.serverFlags(t); !equalAllFlags(before, after) {
		t.Errorf("flags changed by reading:\nbefore %v\nafter  %v", before, after)
	}
}
