package remotetest_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"

	"mailfs/remote/remotetest"
)

// seeded is one message as a client fetched it from a seeded server.
type seeded struct {
	mailbox string
	uid     imap.UID
	flags   []imap.Flag
	date    time.Time
	raw     []byte
}

// fetchSeeded seeds a new server and reads every message back over IMAP.
func fetchSeeded(t *testing.T) (folders map[string]rune, counts map[string]int, msgs []seeded) {
	t.Helper()
	s := remotetest.NewIMAP(t, nil)
	if err := remotetest.Seed(s); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	folders, counts = map[string]rune{}, map[string]int{}
	for _, l := range list {
		folders[l.Mailbox] = l.Delim
	}
	section := &imap.FetchItemBodySection{Peek: true}
	for _, name := range slices.Sorted(maps.Keys(folders)) {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("STATUS %s: %v", name, err)
		}
		counts[name] = int(*st.NumMessages)
		if counts[name] == 0 {
			continue
		}
		if _, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("SELECT %s: %v", name, err)
		}
		fetched, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		if err != nil {
			t.Fatalf("FETCH %s: %v", name, err)
		}
		for _, m := range fetched {
			msgs = append(msgs, seeded{name, m.UID, m.Flags, m.InternalDate, m.FindBodySection(section)})
		}
	}
	return folders, counts, msgs
}

func TestSeedFoldersAndCounts(t *testing.T) {
	folders, counts, _ := fetchSeeded(t)
	want := map[string]int{
		"INBOX": 15, "Archive": 3, "Archive/2024": 3, "Archive/2025": 3,
		"보관함": 3, "Work": 0, "Work/Projects": 4,
	}
	if !maps.Equal(counts, want) {
		t.Errorf("message counts: got %v, want %v", counts, want)
	}
	if got, want := slices.Sorted(maps.Keys(folders)), slices.Sorted(slices.Values(remotetest.SeedFolders())); !slices.Equal(got, want) {
		t.Errorf("folders: got %q, want %q (SeedFolders)", got, want)
	}
	for name, delim := range folders {
		if delim != '/' {
			t.Errorf("LIST %s: got delimiter %q, want '/'", name, delim)
		}
	}
}

// TestSeedMessages checks every seeded message: wire form, parsing with
// go-message, dates, and that the corpus holds the cases it promises.
func TestSeedMessages(t *testing.T) {
	_, _, msgs := fetchSeeded(t)
	base := remotetest.SeedBase()

	subjects := map[string]bool{}
	messageIDs := map[string]bool{}
	var inReplyTo []string
	zones := map[string]bool{}
	var seen, flagged, pngs, csvs, htmls, longSubjects, emptySubjects int
	lastDate := map[string]time.Time{}

	for _, m := range msgs {
		where := fmt.Sprintf("%s/%d", m.mailbox, m.uid)
		checkWireForm(t, where, m.raw)

		if !m.date.Before(base) {
			t.Errorf("%s: INTERNALDATE %v, want before SeedBase %v", where, m.date, base)
		}
		if m.date.Before(lastDate[m.mailbox]) {
			t.Errorf("%s: INTERNALDATE %v before that of a lower UID (%v)", where, m.date, lastDate[m.mailbox])
		}
		lastDate[m.mailbox] = m.date
		zones[m.date.Format("-0700")] = true
		for _, f := range m.flags {
			switch f {
			case imap.FlagSeen:
				seen++
			case imap.FlagFlagged:
				flagged++
			}
		}

		r, err := mail.CreateReader(bytes.NewReader(m.raw))
		if err != nil {
			t.Errorf("%s: mail.CreateReader: %v", where, err)
			continue
		}
		subject, err := r.Header.Subject()
		if err != nil {
			t.Errorf("%s: decode Subject: %v", where, err)
		}
		subjects[subject] = true
		if len(subject) > 80 {
			longSubjects++
		}
		if subject == "" {
			emptySubjects++
		}
		id, err := r.Header.MessageID()
		if err != nil || id == "" {
			t.Errorf("%s: Message-ID: got %q, %v", where, id, err)
		}
		if messageIDs[id] {
			t.Errorf("%s: Message-ID %q used twice", where, id)
		}
		messageIDs[id] = true
		if ids, err := r.Header.MsgIDList("In-Reply-To"); err == nil {
			inReplyTo = append(inReplyTo, ids...)
		}
		if _, err := r.Header.AddressList("From"); err != nil {
			t.Errorf("%s: From: %v", where, err)
		}
		date, err := r.Header.Date()
		if err != nil {
			t.Errorf("%s: Date: %v", where, err)
		} else if d := m.date.Sub(date); d < 0 || d > 10*time.Minute {
			t.Errorf("%s: Date header %v is %v before INTERNALDATE %v, want 0..10m", where, date, d, m.date)
		}

		for {
			p, err := r.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("%s: next part: %v", where, err)
				break
			}
			body, err := io.ReadAll(p.Body)
			if err != nil {
				t.Errorf("%s: read part: %v", where, err)
				break
			}
			ct, _, _ := p.Header.(interface {
				ContentType() (string, map[string]string, error)
			}).ContentType()
			switch ct {
			case "image/png":
				if !bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")) {
					t.Errorf("%s: PNG attachment: got %q…, want the PNG signature", where, body[:min(8, len(body))])
				}
				pngs++
			case "text/csv":
				if !bytes.Contains(body, []byte(",")) {
					t.Errorf("%s: CSV attachment: got %q", where, body)
				}
				csvs++
			case "text/html":
				htmls++
			}
			if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
				if name, err := ah.Filename(); err != nil || name == "" {
					t.Errorf("%s: attachment file name: got %q, %v", where, name, err)
				}
			}
		}
	}

	for _, want := range []string{
		"회의 일정 안내 (11월 24일)",                              // RFC 2047 B, UTF-8
		"Réunion de l'équipe à 14h",                       // RFC 2047 Q, ISO-8859-1
		"Grüße aus Köln",                                  // RFC 2047 Q, UTF-8
		"Build 2026/11 passed ✅ deploy to staging/prod 🚀", // '/' and emoji, two encoded words
		"Re: 견적 요청",                                       // ASCII prefix + encoded word
		"Re: Lunch on Thursday?",
	} {
		if !subjects[want] {
			t.Errorf("subjects: got %q, want one %q", slices.Sorted(maps.Keys(subjects)), want)
		}
	}
	for _, id := range inReplyTo {
		if !messageIDs[id] {
			t.Errorf("In-Reply-To %q: no seeded message has that Message-ID", id)
		}
	}
	for name, got := range map[string]int{
		"replies (In-Reply-To)": len(inReplyTo), "\\Seen": seen, "\\Flagged": flagged,
		"PNG attachments": pngs, "CSV attachments": csvs, "HTML parts": htmls,
		"subjects over 80 characters": longSubjects, "empty subjects": emptySubjects,
	} {
		if got == 0 {
			t.Errorf("%s: got none, want some", name)
		}
	}
	for _, z := range []string{"+0900", "-0500", "+0100", "+0000"} {
		if !zones[z] {
			t.Errorf("INTERNALDATE zones: got %v, want one in %s", slices.Sorted(maps.Keys(zones)), z)
		}
	}
}

// TestSeedDeterministic seeds two servers and compares what they hold.
func TestSeedDeterministic(t *testing.T) {
	_, _, a := fetchSeeded(t)
	_, _, b := fetchSeeded(t)
	if len(a) != len(b) {
		t.Fatalf("message counts: got %d and %d, want equal", len(a), len(b))
	}
	for i := range a {
		if a[i].mailbox != b[i].mailbox || a[i].uid != b[i].uid || !a[i].date.Equal(b[i].date) ||
			!bytes.Equal(a[i].raw, b[i].raw) || !slices.Equal(sortedFlags(a[i].flags), sortedFlags(b[i].flags)) {
			t.Errorf("message %d differs between two seeds: %s/%d %v vs %s/%d %v",
				i, a[i].mailbox, a[i].uid, a[i].date, b[i].mailbox, b[i].uid, b[i].date)
		}
	}
}

// sortedFlags returns flags in order: the server keeps them in a map.
func sortedFlags(flags []imap.Flag) []imap.Flag {
	return slices.Sorted(slices.Values(flags))
}

func TestSampleMessage(t *testing.T) {
	topics := map[string]bool{}
	for i := range 300 {
		where := fmt.Sprintf("SampleMessage(%d)", i)
		msg := remotetest.SampleMessage(i)
		if again := remotetest.SampleMessage(i); !bytes.Equal(msg, again) {
			t.Fatalf("%s: differs between two calls", where)
		}
		if len(msg) < 2048 || len(msg) > 4096 {
			t.Errorf("%s: got %d bytes, want 2048..4096", where, len(msg))
		}
		checkWireForm(t, where, msg)
		r, err := mail.CreateReader(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("%s: mail.CreateReader: %v", where, err)
		}
		subject, err := r.Header.Subject()
		if err != nil || !strings.HasSuffix(subject, fmt.Sprintf(" #%d", i)) {
			t.Errorf("%s: subject: got %q, %v; want it to end in #%d", where, subject, err, i)
		}
		topics[strings.TrimSuffix(strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(subject, "Re: Re: "), "Re: "), "Fwd: "), fmt.Sprintf(" #%d", i))] = true
		date, err := r.Header.Date()
		if want := remotetest.SeedBase().Add(-time.Duration(i) * 37 * time.Minute); err != nil || !date.Equal(want) {
			t.Errorf("%s: Date: got %v, %v; want %v", where, date, err, want)
		}
		from, _ := r.Header.AddressList("From")
		to, _ := r.Header.AddressList("To")
		if len(from) != 1 || len(to) != 1 || from[0].Address == to[0].Address {
			t.Errorf("%s: From %v, To %v: want one sender and another recipient", where, from, to)
		}
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("%s: body: %v", where, err)
		}
		if body, err := io.ReadAll(p.Body); err != nil || len(body) < 1500 {
			t.Errorf("%s: body: got %d bytes, %v; want at least 1500", where, len(body), err)
		}
	}
	if len(topics) < 10 {
		t.Errorf("topics: got %d distinct (%q), want at least 10", len(topics), slices.Sorted(maps.Keys(topics)))
	}
}

// checkWireForm checks RFC 5322 framing: CRLF line ends only, lines of at
// most 998 bytes, an ASCII header, a blank line before the body.
func checkWireForm(t *testing.T, where string, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Errorf("%s: does not end in CRLF", where)
	}
	lines := bytes.Split(raw, []byte("\r\n"))
	header := true
	for n, line := range lines {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("%s: line %d has a bare CR or LF: %q", where, n+1, line)
		}
		if len(line) > 998 {
			t.Errorf("%s: line %d is %d bytes long, want at most 998", where, n+1, len(line))
		}
		if header && len(line) == 0 {
			header = false
		}
		if header {
			for _, c := range line {
				if c >= 0x80 {
					t.Errorf("%s: header line %d is not ASCII: %q", where, n+1, line)
					break
				}
			}
		}
	}
	if header {
		t.Errorf("%s: no blank line between header and body", where)
	}
}
