package mimeparts_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
)

var update = flag.Bool("update", false, "rewrite testdata/structures.golden")

// TestParseCorpus parses every sample of the corpus and compares the
// structures with testdata/structures.golden (checked against Dovecot
// 2.3's BODYSTRUCTURE of the same messages; TestPartsDovecot in
// remote/imap keeps checking it). The same message with LF and with CRLF
// line ends has the same structure (sizes count a LF as CRLF), sections
// are unique, and every leaf is as long as its Size says when Extract
// cuts it out.
func TestParseCorpus(t *testing.T) {
	var golden strings.Builder
	for _, smp := range mimepartstest.Corpus(t) {
		root, err := mimeparts.Parse(bytes.NewReader(smp.Raw))
		if err != nil {
			t.Fatalf("%s: Parse: %v", smp.Name, err)
		}
		crlf, err := mimeparts.Parse(bytes.NewReader(smp.CRLF()))
		if err != nil {
			t.Fatalf("%s: Parse with CRLF: %v", smp.Name, err)
		}
		if !reflect.DeepEqual(crlf, root) {
			t.Errorf("%s: with CRLF:\n%swith LF:\n%s", smp.Name, render(crlf), render(root))
		}
		checkSections(t, root)
		golden.WriteString("== " + smp.Name + "\n" + render(root))
		for _, p := range mimepartstest.Leaves(root) {
			var b bytes.Buffer
			if err := mimeparts.Extract(bytes.NewReader(smp.CRLF()), p.Section, &b); err != nil {
				t.Errorf("%s: Extract(%q): %v", smp.Name, p.Section, err)
				continue
			}
			if n := int64(b.Len()); n != p.Size {
				t.Errorf("%s: Extract(%q) gives %d bytes, want Size %d", smp.Name, p.Section, n, p.Size)
			}
		}
	}
	path := filepath.Join("testdata", "structures.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got := golden.String(); got != string(want) {
		t.Errorf("structures differ from %s (go test -update rewrites it):\ngot\n%s", path, got)
	}
}

// checkSections checks that the sections of root are unique and that
// each part's are numbered under its own as the package doc says.
func checkSections(t *testing.T, root remote.Part) {
	t.Helper()
	seen := map[string]bool{}
	mimepartstest.Walk(root, func(p remote.Part) {
		if seen[p.Section] {
			t.Errorf("section %q twice:\n%s", p.Section, render(root))
		}
		seen[p.Section] = true
	})
}

// TestDecodeCorpus decodes every part of every sample that Extract cuts
// out and compares it with what go-message's entity readers decode from
// the whole message (the oracle); where go-message fails (broken
// base64 or quoted-printable), Decode starts with what go-message
// decoded before failing and goes on, as TestDecodeBroken pins.
func TestDecodeCorpus(t *testing.T) {
	for _, smp := range mimepartstest.Corpus(t) {
		msg := smp.CRLF()
		root, err := mimeparts.Parse(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		oracle, err := mimepartstest.Oracle(msg)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, p := range mimepartstest.Leaves(root) {
			var b bytes.Buffer
			if err := mimeparts.Extract(bytes.NewReader(msg), p.Section, &b); err != nil {
				t.Errorf("%s: Extract(%q): %v", smp.Name, p.Section, err)
				continue
			}
			o, ok := oracle[p.Section]
			if !ok {
				t.Errorf("%s: part %q: not in the oracle", smp.Name, p.Section)
				continue
			}
			got, err := io.ReadAll(mimeparts.Decode(p, &b))
			if err != nil {
				t.Errorf("%s: Decode(%q): %v", smp.Name, p.Section, err)
				continue
			}
			checked++
			switch {
			case o.Err == nil && !bytes.Equal(got, o.Body):
				t.Errorf("%s: Decode(%q):\ngot  %q\nwant %q", smp.Name, p.Section, got, o.Body)
			case o.Err != nil && !bytes.HasPrefix(got, o.Body):
				t.Errorf("%s: Decode(%q) = %q, want it to start with %q (go-message: %v)", smp.Name, p.Section, got, o.Body, o.Err)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no part checked", smp.Name)
		}
	}
}

// TestDecodeBroken pins what Decode makes of the broken parts of the
// corpus, where go-message fails.
func TestDecodeBroken(t *testing.T) {
	var msg []byte
	for _, smp := range mimepartstest.Corpus(t) {
		if smp.Name == "broken-encodings" {
			msg = smp.CRLF()
		}
	}
	root, err := mimeparts.Parse(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := mimepartstest.Oracle(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		section   string
		want      string
		goMessage bool // go-message decodes it without error
	}{
		// Garbage in the middle is skipped; the last quantum is short.
		{"1", "Hallo Welt, das ist ein längerer Text.", false},
		// An unknown charset: the bytes as they are.
		{"2", "unknown charset \xe9 bytes kept", true},
		// A form feed and a stray "=" pass; the soft break joins.
		{"3", "form\x0cfeed and =ZZ bad escape and soft break", false},
		// Padding in the middle ends a quantum; decoding goes on.
		{"4", "\x00\x01\x02\x03\x04\x05\x06\x07\x08", false},
		// An encoding Decode does not know: as it is.
		{"5", "begin 644 x\r\n!80``\r\n`\r\nend", true},
	} {
		var p remote.Part
		for _, l := range mimepartstest.Leaves(root) {
			if l.Section == tt.section {
				p = l
			}
		}
		var b bytes.Buffer
		if err := mimeparts.Extract(bytes.NewReader(msg), tt.section, &b); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(mimeparts.Decode(p, &b))
		if err != nil || string(got) != tt.want {
			t.Errorf("Decode(%q) = %q, %v; want %q", tt.section, got, err, tt.want)
		}
		if o := oracle[tt.section]; (o.Err == nil) != tt.goMessage {
			t.Errorf("part %q: go-message's error is %v, want an error: %v", tt.section, o.Err, !tt.goMessage)
		}
	}
}
