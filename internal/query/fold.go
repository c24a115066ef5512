package query

import (
	"bytes"
	"io"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Texts are compared as Dovecot compares them: both the key and the text
// are put through its normalizer (uni_utf8_to_decomposed_titlecase), which
// maps each character to title case and then decomposes it. So case does
// not matter, and neither does an accent on the text's side: "cafe"
// matches "café" (É decomposes into E and a combining acute), while
// "café" does not match "cafe". Bytes that are not UTF-8 become U+FFFD.
//
// Dovecot decomposes one level, with its own tables; NFKD here decomposes
// fully. They differ for characters whose decomposition decomposes again
// (ǖ, Vietnamese ệ: see Match) and for the few whose title case is their
// own (ǅ), which Dovecot does not decompose.

// newFolder returns a transformer that folds UTF-8 text as described.
func newFolder() transform.Transformer {
	return transform.Chain(runes.Map(unicode.ToTitle), norm.NFKD)
}

// fold returns s folded.
func fold(s string) string {
	out, _, err := transform.String(newFolder(), s)
	if err != nil {
		return s // cannot happen: both transformers accept any input
	}
	return out
}

// finder looks for several folded keys in a stream of folded text.
type finder struct {
	keys  [][]byte
	found []bool
	left  int    // keys not found yet
	tail  []byte // the end of what was seen, for matches across chunks
	max   int    // the longest key
}

func newFinder(keys []string) *finder {
	f := &finder{found: make([]bool, len(keys)), left: len(keys)}
	for _, k := range keys {
		f.keys = append(f.keys, []byte(k))
		f.max = max(f.max, len(k))
	}
	return f
}

// reset forgets the text seen so far: no match spans two texts.
func (f *finder) reset() { f.tail = f.tail[:0] }

// done reports whether every key was found.
func (f *finder) done() bool { return f.left == 0 }

// write looks for the keys in p, the continuation of the text so far.
func (f *finder) write(p []byte) {
	if f.done() || len(p) == 0 {
		return
	}
	win := append(f.tail, p...)
	for i, k := range f.keys {
		if !f.found[i] && bytes.Contains(win, k) {
			f.found[i] = true
			f.left--
		}
	}
	keep := min(len(win), max(f.max-1, 0))
	f.tail = append(f.tail[:0], win[len(win)-keep:]...)
}

// text looks for the keys in one whole text.
func (f *finder) text(s []byte) {
	f.reset()
	f.write(s)
	f.reset()
}

// stream folds the UTF-8 text r gives and looks for the keys in it, until
// every key is found or r ends. It returns r's error, if any.
func (f *finder) stream(r io.Reader) error {
	f.reset()
	defer f.reset()
	fr := transform.NewReader(r, newFolder())
	buf := make([]byte, 32<<10)
	for !f.done() {
		n, err := fr.Read(buf)
		f.write(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
