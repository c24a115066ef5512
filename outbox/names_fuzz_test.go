package outbox

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzUniqueName checks the names the outbox derives for a message whose
// name is taken ("msg.eml" -> "msg-2.eml"): for any name checkName
// accepts, the derived name is free, passes checkName itself, leaves room
// for NAME.error within 255 bytes, and is valid UTF-8 when the name was.
func FuzzUniqueName(f *testing.F) {
	for _, s := range []string{
		"msg.eml", ".eml", "msg", "msg.", "a.b.c", "msg-2.eml", "x.error", "failed", "failed.eml",
		strings.Repeat("é", 124) + ".eml", strings.Repeat("x", 249), strings.Repeat("日", 83) + ".e", "\xff\xfe.eml",
		"." + strings.Repeat("e", 248), "..", "...",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, name string, taken uint8) {
		if checkName(name) != nil {
			return
		}
		o := &Outbox{byName: map[string]*item{name: {}}}
		// Also take the first few derived names, so that the search goes on.
		for range taken % 12 {
			o.byName[o.uniqueName(name, false)] = &item{}
		}
		got := o.uniqueName(name, false)
		if o.nameTaken(got) {
			t.Fatalf("uniqueName(%q) = %q, which is taken", name, got)
		}
		if err := checkName(got); err != nil {
			t.Fatalf("uniqueName(%q) = %q: %v", name, got, err)
		}
		if got == failedDir {
			t.Fatalf("uniqueName(%q) = %q, the name of outbox/failed/", name, got)
		}
		if len(got+errorSuffix) > 255 {
			t.Fatalf("uniqueName(%q) = %q: %d bytes with %s, want at most 255", name, got, len(got+errorSuffix), errorSuffix)
		}
		if utf8.ValidString(name) && !utf8.ValidString(got) {
			t.Fatalf("uniqueName(%q) = %q, not valid UTF-8", name, got)
		}
	})
}
