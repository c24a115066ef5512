package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"mailfs/internal/interop"
)

// Word is the search word of the benchmark. The corpus puts it, as a whole
// line of text, in about 5% of its messages (Corpus.WithWord says which);
// nothing else in the corpus contains it.
const Word = "quokkafirmware"

// folderShare is a folder of the corpus and its share of the messages in
// percent.
type folderShare struct {
	name    string
	percent int
}

// corpusFolders are the folders of the corpus, spelled with Dovecot's "/"
// separator; the shares add up to 100.
var corpusFolders = []folderShare{
	{"INBOX", 40},
	{"Archive", 30},
	{"Sent", 15},
	{"Lists/dev", 10},
	{"Trash", 5},
}

const (
	wordPercent       = 5  // messages with Word
	attachmentPermil  = 20 // messages with an attachment, per thousand
	minBody, maxBody  = 2 << 10, 50 << 10
	minAttach         = 1 << 20
	maxAttach         = 5 << 20
	htmlPercent       = 50 // multipart/alternative with an HTML part
	corpusSeed        = 7
	lsMessageMinBytes = 600
)

// Corpus is the plan of the generated messages: where each goes, its
// size, which get Word or an attachment. The messages themselves are
// rendered on each iteration of All, from the seed, so the corpus is never
// held in memory.
type Corpus struct {
	// N is the number of messages.
	N int
	// WithWord is the number of messages that contain Word.
	WithWord int
	// Attachments is the number of messages with a base64 attachment.
	Attachments int
	// Folders counts the messages per folder.
	Folders map[string]int

	specs []messageSpec
}

// NewCorpus plans a corpus of n messages from a fixed seed: the same n
// gives the same messages, byte for byte, on every run.
func NewCorpus(n int) *Corpus {
	c := &Corpus{N: n, Folders: map[string]int{}, specs: make([]messageSpec, n)}
	rng := rand.New(rand.NewPCG(corpusSeed, uint64(n)))
	date := time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC)
	for i := range c.specs {
		// About a message every 1–3 hours.
		date = date.Add(time.Duration(60+rng.IntN(120)) * time.Minute)
		s := messageSpec{
			index:  i,
			folder: pickFolder(rng),
			date:   date,
			body:   logUniform(rng, minBody, maxBody),
			word:   rng.IntN(100) < wordPercent,
			html:   rng.IntN(100) < htmlPercent,
		}
		if rng.IntN(1000) < attachmentPermil {
			s.attachment = minAttach + rng.IntN(maxAttach-minAttach+1)
			c.Attachments++
		}
		if s.word {
			c.WithWord++
		}
		c.Folders[s.folder]++
		c.specs[i] = s
	}
	return c
}

// All yields the messages in date order, for interop's Seed. Message i is
// rendered from its own random stream, so it does not depend on the others.
func (c *Corpus) All() iter.Seq[interop.MaildirMessage] {
	return func(yield func(interop.MaildirMessage) bool) {
		for _, s := range c.specs {
			rng := rand.New(rand.NewPCG(corpusSeed, uint64(s.index)+1<<32))
			if !yield(interop.MaildirMessage{Mailbox: s.folder, Text: s.render(rng), Date: s.date}) {
				return
			}
		}
	}
}

// LsMessages yields n small messages (about 1 KB) for the folder of the
// ls test, in date order.
func LsMessages(n int) iter.Seq[interop.MaildirMessage] {
	return func(yield func(interop.MaildirMessage) bool) {
		rng := rand.New(rand.NewPCG(corpusSeed+1, uint64(n)))
		date := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		for i := range n {
			date = date.Add(time.Duration(1+rng.IntN(30)) * time.Minute)
			spec := messageSpec{index: i, folder: "INBOX", date: date, body: lsMessageMinBytes + rng.IntN(1000)}
			if !yield(interop.MaildirMessage{Text: spec.render(rng), Date: date}) {
				return
			}
		}
	}
}

func pickFolder(rng *rand.Rand) string {
	p := rng.IntN(100)
	for _, f := range corpusFolders {
		if p < f.percent {
			return f.name
		}
		p -= f.percent
	}
	return corpusFolders[0].name
}

// logUniform returns a size between lo and hi whose logarithm is uniform:
// many small messages, fewer large ones, as in a real mailbox.
func logUniform(rng *rand.Rand, lo, hi int) int {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return int(math.Exp(l + rng.Float64()*(h-l)))
}

// messageSpec is what one message will be.
type messageSpec struct {
	index      int
	folder     string
	date       time.Time
	body       int  // bytes of the body, attachment aside
	word       bool // contains Word
	html       bool // multipart/alternative with an HTML part
	attachment int  // bytes of the attached file (0: none)
}

// render writes the message with CRLF line ends.
func (s messageSpec) render(rng *rand.Rand) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	me, other := "Bench User <bench@example.org>", people[rng.IntN(len(people))]
	from, to := other, me
	if s.folder == "Sent" {
		from, to = me, other
	}
	w("Return-Path: <%s>", addrOf(from))
	w("From: %s", from)
	w("To: %s", to)
	if s.folder == "Lists/dev" {
		w("List-Id: <dev.lists.example.net>")
	}
	w("Subject: %s", subject(rng))
	w("Date: %s", s.date.Format(time.RFC1123Z))
	w("Message-ID: <%d.%d@bench.example.org>", s.index, s.date.Unix())
	w("MIME-Version: 1.0")

	// body is the size of the whole body: with an HTML alternative, the
	// text part gets less than half of it (the HTML repeats the text with
	// tags).
	textSize := s.body
	if s.html {
		textSize = s.body * 45 / 100
	}
	text := paragraphs(rng, textSize, s.word)
	boundary := fmt.Sprintf("=_bench_%d_%d", s.index, rng.Uint32())
	alt := fmt.Sprintf("=_alt_%d_%d", s.index, rng.Uint32())
	switch {
	case s.attachment > 0:
		w("Content-Type: multipart/mixed; boundary=%q", boundary)
		w("")
		w("This is a multi-part message in MIME format.")
		w("--%s", boundary)
		if s.html {
			writeAlternative(&b, w, alt, text)
		} else {
			writePlain(&b, w, text)
		}
		w("--%s", boundary)
		name := fmt.Sprintf("report-%d.pdf", s.index)
		w("Content-Type: application/pdf; name=%q", name)
		w("Content-Transfer-Encoding: base64")
		w("Content-Disposition: attachment; filename=%q", name)
		w("")
		writeBase64(&b, rng, s.attachment)
		w("--%s--", boundary)
	case s.html:
		writeAlternative(&b, w, alt, text)
	default:
		writePlain(&b, w, text)
	}
	return b.Bytes()
}

func writePlain(b *bytes.Buffer, w func(string, ...any), text []string) {
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	for _, line := range text {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}

func writeAlternative(b *bytes.Buffer, w func(string, ...any), boundary string, text []string) {
	w("Content-Type: multipart/alternative; boundary=%q", boundary)
	w("")
	w("--%s", boundary)
	writePlain(b, w, text)
	w("--%s", boundary)
	w("Content-Type: text/html; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	w("<html><body>")
	for _, line := range text {
		if line == "" {
			w("<br>")
			continue
		}
		w("<p>%s</p>", line)
	}
	w("</body></html>")
	w("--%s--", boundary)
}

// writeBase64 writes n random bytes in base64, 76 characters a line.
func writeBase64(b *bytes.Buffer, rng *rand.Rand, n int) {
	raw := make([]byte, 57*1024) // 57 bytes encode to one 76-character line
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for n > 0 {
		k := min(n, len(raw))
		for i := 0; i < k; i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < k; j++ {
				raw[i+j] = byte(v >> (8 * j))
			}
		}
		base64.StdEncoding.Encode(enc, raw[:k])
		e := enc[:base64.StdEncoding.EncodedLen(k)]
		for len(e) > 0 {
			l := min(76, len(e))
			b.Write(e[:l])
			b.WriteString("\r\n")
			e = e[l:]
		}
		n -= k
	}
}

// paragraphs returns lines of text (at most 72 characters, blank lines
// between paragraphs) adding up to about size bytes; with word, one line
// somewhere in the middle holds Word.
func paragraphs(rng *rand.Rand, size int, word bool) []string {
	var lines []string
	var line strings.Builder
	total, inPara := 0, 0
	for total < size {
		v := vocabulary[rng.IntN(len(vocabulary))]
		if line.Len()+1+len(v) > 72 {
			lines = append(lines, line.String())
			total += line.Len() + 2
			line.Reset()
			inPara++
			if inPara > 3+rng.IntN(6) {
				lines = append(lines, "")
				inPara = 0
			}
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(v)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	if word {
		at := len(lines) / 2
		lines = append(lines[:at], append([]string{"The code name is " + Word + " for now."}, lines[at:]...)...)
	}
	return lines
}

func subject(rng *rand.Rand) string {
	n := 3 + rng.IntN(6)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = vocabulary[rng.IntN(len(vocabulary))]
	}
	ws[0] = strings.ToUpper(ws[0][:1]) + ws[0][1:]
	prefix := []string{"", "", "Re: ", "Fwd: "}[rng.IntN(4)]
	return prefix + strings.Join(ws, " ")
}

func addrOf(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		return strings.Trim(s[i:], "<>")
	}
	return s
}

var people = []string{
	"Alice Martin <alice@example.com>",
	"Bob Okafor <bob@example.net>",
	"Chloé Dubois <chloe@example.fr>",
	"Dmitri Ivanov <dmitri@example.org>",
	"Eun-ji Park <eunji@example.kr>",
	"Farid Haddad <farid@example.com>",
	"Grace Lee <grace@example.net>",
	"Hiro Tanaka <hiro@example.jp>",
	"dev list <dev@lists.example.net>",
	"Billing <billing@shop.example.com>",
}

var vocabulary = strings.Fields(`
the of and to in is that for it as with was on be by at this are from or
have an they which one you had not but what all were when we there can
meeting report quarterly invoice budget release build server deploy review
schedule agenda notes draft patch branch merge ticket customer contract
payment shipment delivery question answer update status project milestone
deadline team office travel hotel flight conference slides demo feedback
proposal estimate figures summary attached please thanks regards tomorrow
Monday Tuesday Wednesday Thursday Friday morning afternoon evening week
month quarter year numbers table chart document version issue bug fix test
Grüße café naïve façade Zürich résumé über straße 東京 서울 données
`)
