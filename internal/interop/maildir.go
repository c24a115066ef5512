package interop

import (
	"bytes"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaildirMessage is one message for Seed.
type MaildirMessage struct {
	// Mailbox is the folder, spelled as over IMAP with the instance's
	// separator ("Lists/dev" by default); "" means INBOX. A missing folder
	// is created, with its parents.
	Mailbox string
	// Text is the whole message, header and body. Lines may end in CRLF or
	// LF: they are stored with LF, as Dovecot stores delivered mail, and
	// IMAP serves them with CRLF.
	Text []byte
	// Date is the INTERNALDATE (the file's mtime); zero means now.
	Date time.Time
}

// Seed writes msgs straight into user's Maildirs, as files in each
// folder's cur/ owned by the instance's mail user, and then has Dovecot
// index every folder it touched (doveadm force-resync), so the messages
// are there for the next IMAP or doveadm command. It returns the number
// of messages written. Far faster than Deliver (one doveadm run per
// message): 10,000 messages take seconds. Nothing is fsynced; the files
// are for tests and benchmarks.
//
// Dovecot assigns UIDs in the order of the file names, which begin with
// Date: seeding in date order gives UIDs in date order. The files carry
// their size and their size with CRLF line ends in their names (,S= and
// ,W=), as Dovecot's own deliveries do, so listing sizes reads no file.
func (d *Dovecot) Seed(user string, msgs iter.Seq[MaildirMessage]) (int, error) {
	if _, ok := d.Users[user]; !ok {
		return 0, fmt.Errorf("dovecot: seed %s: no such user (have %v)", user, d.userNames())
	}
	existing, err := d.mailboxes(user)
	if err != nil {
		return 0, fmt.Errorf("dovecot: seed %s: %w", user, err)
	}
	curDirs := map[string]string{} // mailbox → its cur/ directory
	var order []string             // mailboxes in order of first use
	n := 0
	for m := range msgs {
		mbox := m.Mailbox
		if mbox == "" {
			mbox = "INBOX"
		}
		cur, ok := curDirs[mbox]
		if !ok {
			if cur, err = d.maildirCur(user, mbox, slices.Contains(existing, mbox)); err != nil {
				return n, fmt.Errorf("dovecot: seed %s/%s: %w", user, mbox, err)
			}
			curDirs[mbox] = cur
			order = append(order, mbox)
		}
		if err := d.writeMaildirFile(cur, m); err != nil {
			return n, fmt.Errorf("dovecot: seed %s/%s: %w", user, mbox, err)
		}
		n++
	}
	for _, mbox := range order {
		if _, err := d.doveadm(nil, "force-resync", "-u", user, mbox); err != nil {
			return n, fmt.Errorf("dovecot: index seeded %s/%s: %w\nlog:\n%s", user, mbox, err, d.LogTail(10))
		}
	}
	return n, nil
}

// Count returns the number of messages in mailbox of user, as Dovecot
// reports it (doveadm mailbox status).
func (d *Dovecot) Count(user, mailbox string) (int, error) {
	out, err := d.doveadm(nil, "-f", "flow", "mailbox", "status", "-u", user, "messages", mailbox)
	if err != nil {
		return 0, fmt.Errorf("dovecot: count %s/%s: %w", user, mailbox, err)
	}
	// "NAME messages=N"; NAME may hold spaces.
	line := strings.TrimSpace(string(out))
	i := strings.LastIndex(line, " messages=")
	if i < 0 {
		return 0, fmt.Errorf("dovecot: count %s/%s: got %q from doveadm, want \"... messages=N\"", user, mailbox, line)
	}
	n, err := strconv.Atoi(line[i+len(" messages="):])
	if err != nil {
		return 0, fmt.Errorf("dovecot: count %s/%s: got %q from doveadm: %v", user, mailbox, line, err)
	}
	return n, nil
}

// maildirCur returns the cur/ directory of mailbox, creating the mailbox
// first unless it exists. Dovecot decides the layout (Maildir++ with '.'
// between levels, modified UTF-7 names): the path comes from doveadm.
func (d *Dovecot) maildirCur(user, mailbox string, exists bool) (string, error) {
	if !exists {
		if _, err := d.doveadm(nil, "mailbox", "create", "-u", user, mailbox); err != nil {
			return "", err
		}
	}
	// A status makes Dovecot create the folder's directories (INBOX's
	// appear only at its first access).
	if _, err := d.doveadm(nil, "mailbox", "status", "-u", user, "messages", mailbox); err != nil {
		return "", err
	}
	out, err := d.doveadm(nil, "mailbox", "path", "-u", user, mailbox)
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("doveadm mailbox path: got %q, want an absolute path", dir)
	}
	cur := filepath.Join(dir, "cur")
	if fi, err := os.Stat(cur); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("maildir of %s: no cur/ directory in %s after doveadm created it: %v", mailbox, dir, err)
	}
	return cur, nil
}

// writeMaildirFile stores m as a new file in cur, with LF line ends,
// owned by the mail user, its mtime set to m.Date.
func (d *Dovecot) writeMaildirFile(cur string, m MaildirMessage) error {
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	text := bytes.ReplaceAll(m.Text, []byte("\r\n"), []byte("\n"))
	vsize := len(text) + bytes.Count(text, []byte("\n"))
	// time.Mmicroseconds P pid Q sequence . host ,S=size ,W=vsize :2, flags
	seq := d.seedSeq.Add(1)
	name := fmt.Sprintf("%d.M%06dP%dQ%d.mailfs,S=%d,W=%d:2,", date.Unix(), date.Nanosecond()/1000, os.Getpid(), seq, len(text), vsize)
	path := filepath.Join(cur, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create message file: %w", err)
	}
	_, err = f.Write(text)
	if err == nil && os.Geteuid() == 0 {
		err = f.Chown(d.mailUID, d.mailGID)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(path, date, date)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write message file %s: %w", path, err)
	}
	return nil
}

// mailboxes lists the mailboxes of user (doveadm mailbox list).
func (d *Dovecot) mailboxes(user string) ([]string, error) {
	out, err := d.doveadm(nil, "mailbox", "list", "-8", "-u", user)
	if err != nil {
		return nil, err
	}
	var names []string
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			names = append(names, line)
		}
	}
	return names, nil
}

// userNames returns the instance's user names, sorted.
func (d *Dovecot) userNames() []string {
	names := make([]string, 0, len(d.Users))
	for u := range d.Users {
		names = append(names, u)
	}
	slices.Sort(names)
	return names
}
