package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the speed issue, as ratios or limits.
const (
	targetCold    = 0.8                      // cold grep / (mbsync + grep)
	targetWarm    = 2.5                      // warm grep through the mount / on the Maildir
	targetLsWarm  = time.Second              // warm ls -l of the big folder
	targetPeakRSS = int64(150 * 1000 * 1000) // bytes
)

// results are the figures of one run.
type results struct {
	opts        options
	corpus      *Corpus
	corpusBytes int64 // bytes of the corpus as generated (CRLF)
	mailfs      string

	coldMount       timed         // first grep -rl through the mount
	coldMountCPU    time.Duration // CPU time mailfs used during it
	mbsync          mbsyncResult  // mbsync pull
	maildirMessages int           // message files mbsync wrote
	maildirCold     timed         // first grep -rl on the Maildir, right after mbsync
	warmMount       []timed       // grep -rl through the mount, 3 runs
	warmMaildir     []timed       // grep -rl on the Maildir, 3 runs
	search          []timed       // ls -l of a new search folder for Word, 3 runs
	lsCold          timed         // ls -l of the big folder: first run
	lsWarm          []timed       // ls -l again, 3 runs
	peakRSS         int64         // VmHWM of mailfs, bytes
}

// check is one correctness check: what was compared, and whether it held.
type check struct {
	what string
	ok   bool
}

// checks compares the answers: every grep found the files the corpus put
// the word into, mbsync pulled every message, ls listed every message.
func (r *results) checks() []check {
	want := r.corpus.WithWord
	grepOK := r.coldMount.count == want && r.maildirCold.count == want
	for i := range r.warmMount {
		grepOK = grepOK && r.warmMount[i].count == want && r.warmMaildir[i].count == want
	}
	searchOK := len(r.search) > 0
	var searchCounts []string
	for _, s := range r.search {
		searchOK = searchOK && s.count == want
		searchCounts = append(searchCounts, fmt.Sprint(s.count))
	}
	lsOK := r.lsCold.count == r.opts.ls
	var lsCounts []string
	for _, l := range append([]timed{r.lsCold}, r.lsWarm...) {
		lsOK = lsOK && l.count == r.opts.ls
		lsCounts = append(lsCounts, fmt.Sprint(l.count))
	}
	var warmCounts []string
	for i := range r.warmMount {
		warmCounts = append(warmCounts, fmt.Sprintf("%d/%d", r.warmMount[i].count, r.warmMaildir[i].count))
	}
	return []check{
		{fmt.Sprintf("grep -l found %d files through the mount (cold), %d in the Maildir, the corpus put %s into %d; warm runs mount/Maildir %s",
			r.coldMount.count, r.maildirCold.count, Word, want, strings.Join(warmCounts, " ")), grepOK},
		{fmt.Sprintf("the search folder for %s listed %s messages, want %d", Word, strings.Join(searchCounts, ", "), want), searchOK},
		{fmt.Sprintf("mbsync pulled %d messages of %d", r.maildirMessages, r.corpus.N), r.maildirMessages == r.corpus.N},
		{fmt.Sprintf("ls -l listed %s entries, want %d", strings.Join(lsCounts, ", "), r.opts.ls), lsOK},
	}
}

// correct reports whether every check held.
func (r *results) correct() bool {
	for _, c := range r.checks() {
		if !c.ok {
			return false
		}
	}
	return true
}

// print writes the table: figures side by side, ratios, targets.
func (r *results) print(w io.Writer) {
	o := r.opts
	rtt := "none (direct to Dovecot)"
	if o.rtt > 0 {
		rtt = o.rtt.String() + " (latency proxy)"
	}
	var folders []string
	for _, f := range corpusFolders {
		folders = append(folders, fmt.Sprintf("%s %d", f.name, r.corpus.Folders[f.name]))
	}
	fmt.Fprintf(w, "\nmailbench: N=%d messages, %s, %d with attachments (%s); %s in %d; ls folder of %d; RTT %s\n",
		r.corpus.N, mib(r.corpusBytes), r.corpus.Attachments, strings.Join(folders, ", "), Word, r.corpus.WithWord, o.ls, rtt)
	fmt.Fprintf(w, "mailfs: %s\n\n", r.mailfs)

	mbsyncTotal := r.mbsync.d + r.maildirCold.d
	warmMount, warmMaildir := median(r.warmMount), median(r.warmMaildir)
	lsWarm := median(r.lsWarm)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tmailfs\treference\tratio\ttarget\t")
	fmt.Fprintf(tw, "(a) cold grep -rl\t%s\t%s = mbsync %s + grep %s\t%s\t≤ %.1f\t%s\n",
		secs(r.coldMount.d), secs(mbsyncTotal), secs(r.mbsync.d), secs(r.maildirCold.d),
		ratio(r.coldMount.d, mbsyncTotal), targetCold, okMiss(float64(r.coldMount.d) <= targetCold*float64(mbsyncTotal)))
	fmt.Fprintf(tw, "(b) warm grep -rl, median of 3\t%s\t%s grep on the Maildir\t%s\t≤ %.1f\t%s\n",
		secs(warmMount), secs(warmMaildir), ratio(warmMount, warmMaildir), targetWarm,
		okMiss(float64(warmMount) <= targetWarm*float64(warmMaildir)))
	fmt.Fprintf(tw, "(c) ls -l of %d messages, cold\t%s\t\t\t\t\n", o.ls, secs(r.lsCold.d))
	fmt.Fprintf(tw, "    ls -l, warm, median of 3\t%s\t\t\t≤ %g s\t%s\n", secs(lsWarm), targetLsWarm.Seconds(), okMiss(lsWarm <= targetLsWarm))
	fmt.Fprintf(tw, "(d) peak RSS of mailfs (VmHWM)\t%s\t\t\t≤ %s\t%s\n", mb(r.peakRSS), mb(targetPeakRSS), okMiss(r.peakRSS <= targetPeakRSS))
	search := median(r.search)
	fmt.Fprintf(tw, "(e) ls -l of a new search folder, median of 3\t%s\t%s grep on the Maildir\t%s\t\t\n",
		secs(search), secs(warmMaildir), ratio(search, warmMaildir))
	tw.Flush()

	fmt.Fprintf(w, "\ncpu: mailfs during the cold grep %s; mbsync %s\n", secs(r.coldMountCPU), secs(r.mbsync.cpu))
	fmt.Fprintf(w, "runs: warm grep mount %s; Maildir %s; search folder %s; warm ls %s\n",
		durations(r.warmMount), durations(r.warmMaildir), durations(r.search), durations(r.lsWarm))
	for _, c := range r.checks() {
		status := "ok"
		if !c.ok {
			status = "WRONG"
		}
		fmt.Fprintf(w, "check: %s: %s\n", c.what, status)
	}
	if o.smoke {
		fmt.Fprintln(w, "(smoke run: small N, no RTT; the targets are for -n 2000 or more at -rtt 50ms)")
	}
}

func median(ts []timed) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(ts))
	for i, t := range ts {
		ds[i] = t.d
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func durations(ts []timed) string {
	var s []string
	for _, t := range ts {
		s = append(s, secs(t.d))
	}
	return strings.Join(s, " ")
}

func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func okMiss(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func mb(n int64) string { return fmt.Sprintf("%.4g MB", float64(n)/1e6) }
