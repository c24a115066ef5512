package mimeparts_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
)

// fileRow is a file as the tables below write it: "name kind section".
func fileRows(files []mimeparts.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, fmt.Sprintf("%q %s %s", f.Name, f.Kind, f.Part.Section))
	}
	return out
}

// TestFilesCorpus checks the files of every sample of the corpus.
func TestFilesCorpus(t *testing.T) {
	long := strings.Repeat("A", 296) + ".txt"
	want := map[string][]string{
		"alternative":      {`"text" text 1`, `"html" html 2`},
		"broken-encodings": {`"text" text 1`, `"padded.bin" attachment 4`, `"x-uuencode.bin" attachment 5`},
		// The digest's parts are messages by default; 2.3 is an inline
		// text that is not the main one.
		"digest": {`"text" text 1`, `"message-2.1.eml" message 2.1`, `"message-2.2.eml" message 2.2`},
		"hostile-names": {
			`"text" text 1`, `"../../x" attachment 2`, `"nul\x00byte.bin" attachment 3`,
			fmt.Sprintf("%q attachment 4", long), `"ctl\x01\a\x1b[31mred\r\nline\ttab.txt" attachment 5`,
			`"part-6.pdf" attachment 6`, `"report.pdf" attachment 7`, `"report.pdf" attachment 8`,
			`"part-9.png" attachment 9`, `"part-10" attachment 10`,
		},
		"korean-rfc2231": {`"text" text 1`, `"보고서.pdf" attachment 2`, `"보고서 (최종).bin" attachment 3`},
		"latin1-base64":  {`"text" text 1`},
		// The text attachment comes first; the main text and HTML are in
		// the alternative; the inline image of the related part and an
		// unnamed calendar attachment are files; the second inline text
		// is not.
		"mixed-related": {
			`"text" text 2.1`, `"html" html 2.2.1`, `"notes.txt" attachment 1`,
			`"part-2.2.2.png" attachment 2.2.2`, `"part-4.pdf" attachment 4`, `"part-5.ics" attachment 5`,
		},
		// The attached message's own text is not the message's.
		"nested-rfc822": {`"text" text 1`, `"Ursprünglich.eml" message 2`, `"data.csv" attachment 3`},
		"plain-no-mime": {`"text" text 1`},
		"rfc2047-name": {
			`"text" text 1`, `"Rechnung N° 42 – Müller.docx" attachment 2`, `"Ärger über Bild.png" attachment 3`,
		},
		"rfc822-single": {`"text" text 1`, `"inner.eml" message 2`, `"message-3.eml" message 3`},
		"utf8-base64":   {`"text" text 1`},
	}
	for _, smp := range mimepartstest.Corpus(t) {
		root, err := mimeparts.Parse(bytes.NewReader(smp.Raw))
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[smp.Name]
		if !ok {
			t.Errorf("%s: no expected files in the table", smp.Name)
			continue
		}
		if got := fileRows(mimeparts.Files(root)); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: Files:\ngot  %q\nwant %q", smp.Name, got, w)
		}
	}
}

func leafPart(sec, typ, sub string) remote.Part {
	return mimeparts.Fields{Type: typ, Subtype: sub}.Part(sec, 10)
}

func multi(sec, sub string, parts ...remote.Part) remote.Part {
	p := mimeparts.Fields{Type: "multipart", Subtype: sub}.Part(sec, 0)
	p.Parts = parts
	return p
}

func named(p remote.Part, disp, filename string) remote.Part {
	p.Disposition, p.Filename = disp, filename
	return p
}

// TestFiles checks Files on structures made for the purpose.
func TestFiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		root remote.Part
		want []string
	}{
		{"no parts at all", remote.Part{}, nil},
		{"single text", leafPart("1", "text", "plain"), []string{`"text" text 1`}},
		{"single html", leafPart("1", "text", "html"), []string{`"html" html 1`}},
		{"a message that is a PDF", leafPart("1", "application", "pdf"), []string{`"part-1.pdf" attachment 1`}},
		{"a message that is a message", leafPart("1", "message", "rfc822"), []string{`"message-1.eml" message 1`}},
		{"html only", multi("", "alternative", leafPart("1", "text", "html")), []string{`"html" html 1`}},
		{"the alternative's text wins over an earlier one",
			multi("", "mixed",
				leafPart("1", "text", "plain"),
				multi("2", "alternative", leafPart("2.1", "text", "plain"), leafPart("2.2", "text", "html")),
				leafPart("3", "text", "html")),
			[]string{`"text" text 2.1`, `"html" html 2.2`}},
		{"a named inline text is an attachment",
			multi("", "mixed", named(leafPart("1", "text", "plain"), "inline", "a.txt"), leafPart("2", "text", "plain")),
			[]string{`"text" text 2`, `"a.txt" attachment 1`}},
		{"an unnamed text attachment",
			multi("", "mixed", leafPart("1", "text", "plain"), named(leafPart("2", "text", "x-foo"), "attachment", "")),
			[]string{`"text" text 1`, `"part-2.txt" attachment 2`}},
		{"message/global, unknown types, empty names",
			multi("", "mixed",
				leafPart("1", "message", "global"),
				leafPart("2", "application", "x-whatever"),
				named(leafPart("3", "image", "jpeg"), "attachment", ""),
				leafPart("4", "message", "delivery-status")),
			[]string{`"message-1.eml" message 1`, `"part-2" attachment 2`, `"part-3.jpg" attachment 3`, `"part-4.txt" attachment 4`}},
		{"the parts of an attached message are not files",
			multi("", "mixed", leafPart("1", "application", "pdf"), func() remote.Part {
				m := leafPart("2", "message", "rfc822")
				m.Parts = []remote.Part{multi("2.TEXT", "mixed", leafPart("2.1", "text", "plain"), leafPart("2.2", "image", "png"))}
				return m
			}()),
			[]string{`"part-1.pdf" attachment 1`, `"message-2.eml" message 2`}},
	} {
		if got := fileRows(mimeparts.Files(tt.root)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestFileKindString(t *testing.T) {
	for k, want := range map[mimeparts.FileKind]string{
		mimeparts.KindText: "text", mimeparts.KindHTML: "html", mimeparts.KindAttachment: "attachment",
		mimeparts.KindMessage: "message", 0: "FileKind(0)",
	} {
		if got := k.String(); got != want {
			t.Errorf("FileKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
