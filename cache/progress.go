package cache

import (
	"sync"
	"time"
)

// progressEvery is how often a long listing or read-ahead logs its
// progress at info level, and how long it must have run before it does.
const progressEvery = 5 * time.Second

// progress reports a long operation on one mailbox (a first listing, the
// bodies a read-ahead fetches) in the log: what, how far (done of total,
// when total is known) and how fast. Short operations log nothing.
type progress struct {
	a       *Account
	what    string
	mailbox string

	mu     sync.Mutex // guards the fields below
	total  int        // 0 when unknown
	done   int
	bytes  int64
	start  time.Time
	last   time.Time // of the last line logged; zero before the first
	active time.Time // of the last add
}

func (a *Account) newProgress(what, mailbox string, total int) *progress {
	now := a.c.now()
	return &progress{a: a, what: what, mailbox: mailbox, total: total, start: now, active: now}
}

// add counts n more items of size bytes, and logs when due.
func (p *progress) add(n int, bytes int64) {
	now := p.a.c.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.bytes += bytes
	p.active = now
	if now.Sub(p.start) < progressEvery || (!p.last.IsZero() && now.Sub(p.last) < progressEvery) {
		return
	}
	p.last = now
	p.logLocked(now, p.what)
}

// finish logs the end of an operation that logged its progress, as of
// its last item (a pause after it is not part of the work).
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		p.logLocked(p.active, p.what+" done")
	}
}

func (p *progress) logLocked(now time.Time, msg string) {
	secs := now.Sub(p.start).Seconds()
	attrs := []any{"account", p.a.name, "mailbox", p.mailbox, "done", p.done}
	if p.total > 0 {
		attrs = append(attrs, "total", p.total)
	}
	if secs > 0 {
		attrs = append(attrs, "per_second", int(float64(p.done)/secs))
		if p.bytes > 0 {
			attrs = append(attrs, "MB_per_second", float64(int(float64(p.bytes)/secs/1e4))/100)
		}
	}
	attrs = append(attrs, "elapsed", now.Sub(p.start).Round(time.Second))
	p.a.c.log.Info(msg, attrs...)
}

// bodyProgress returns the progress of the bodies read-ahead fetches into
// m: one that goes on while batches follow each other, a new one after a
// pause of progressEvery.
func (m *mailbox) bodyProgress(a *Account) *progress {
	m.progMu.Lock()
	defer m.progMu.Unlock()
	now := a.c.now()
	if p := m.prog; p != nil {
		p.mu.Lock()
		idle := now.Sub(p.active)
		p.mu.Unlock()
		if idle < progressEvery {
			return p
		}
		p.finish()
	}
	total := 0
	if l := m.snap.Load().listing; l != nil {
		total = len(l.Messages)
	}
	m.prog = a.newProgress("fetching message bodies", m.name, total)
	return m.prog
}
