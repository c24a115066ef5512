package fs

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailfs/remote"
)

func TestFileName(t *testing.T) {
	date := time.Date(2026, 11, 20, 9, 15, 42, 0, time.UTC)
	long := strings.Repeat("가", 70)        // 3 bytes a rune
	longWide := strings.Repeat("𠀀", 70)    // 4-byte letters (CJK Ext. B)
	longWords := strings.Repeat("ab ", 40) // cut right after a "-"
	tests := []struct {
		name    string
		subject string
		uid     uint32
		want    string
	}{
		{"ascii", "Quarterly report", 4711, "2026-11-20_0915_Quarterly-report_4711.eml"},
		{"punctuation runs", "Re: [list]  Hello,   world!!", 1, "2026-11-20_0915_Re-list-Hello-world_1.eml"},
		{"korean", "분기 보고서 (최종)", 7, "2026-11-20_0915_분기-보고서-최종_7.eml"},
		{"emoji", "🎉 Party 🎉 time 🎂", 8, "2026-11-20_0915_Party-time_8.eml"},
		{"only emoji", "🎉🎂", 9, "2026-11-20_0915_no-subject_9.eml"},
		{"empty", "", 10, "2026-11-20_0915_no-subject_10.eml"},
		{"only punctuation", "!!! --- ???", 11, "2026-11-20_0915_no-subject_11.eml"},
		{"slash", "a/b/../c", 12, "2026-11-20_0915_a-b-c_12.eml"},
		{"control characters", "tab\there\r\nnew\x7fline", 13, "2026-11-20_0915_tab-here-new-line_13.eml"},
		{"NUL", "nul\x00byte", 14, "2026-11-20_0915_nul-byte_14.eml"},
		{"invalid UTF-8", "bad\xff\xfe bytes\xc3", 15, "2026-11-20_0915_bad-bytes_15.eml"},
		{"accents and digits", "Café № 42 — déjà vu", 16, "2026-11-20_0915_Café-42-déjà-vu_16.eml"},
		{"combining mark kept", "Cafe\u0301 ok", 17, "2026-11-20_0915_Cafe\u0301-ok_17.eml"},
		{"long multi-byte", long, 18, "2026-11-20_0915_" + strings.Repeat("가", 60) + "_18.eml"},
		{"long 4-byte letters", longWide, 19, "2026-11-20_0915_" + strings.Repeat("𠀀", 50) + "_19.eml"},
		{"long cut at dash", longWords, 20, "2026-11-20_0915_" + strings.TrimSuffix(strings.Repeat("ab-", 20), "-") + "_20.eml"},
		{"max uid", "x", 4294967295, "2026-11-20_0915_x_4294967295.eml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := remote.MessageInfo{UID: tt.uid, Subject: tt.subject, InternalDate: date}
			got := FileName(info, StyleDescriptive)
			if got != tt.want {
				t.Errorf("FileName(%q) = %q, want %q", tt.subject, got, tt.want)
			}
			checkName(t, got)
			if uid, ok := ParseUID(got); !ok || uid != tt.uid {
				t.Errorf("ParseUID(%q) = %d, %v, want %d, true", got, uid, ok, tt.uid)
			}
		})
	}
}

// checkName fails unless name is usable as a file name.
func checkName(t *testing.T, name string) {
	t.Helper()
	if !utf8.ValidString(name) {
		t.Errorf("name %q is not valid UTF-8", name)
	}
	if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." || name == "" {
		t.Errorf("name %q is not a file name", name)
	}
	if len(name) >= 255 {
		t.Errorf("name %q is %d bytes, want < 255", name, len(name))
	}
	slug := strings.TrimSuffix(name, ".eml")
	if n := utf8.RuneCountInString(slug); n > 16+60+1+10 {
		t.Errorf("name %q has %d runes", name, n)
	}
}

func TestFileNameStyles(t *testing.T) {
	info := remote.MessageInfo{UID: 4711, Subject: "Hi", InternalDate: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	for _, tt := range []struct{ style, want string }{
		{StyleUID, "4711.eml"},
		{StyleDescriptive, "2026-01-02_0304_Hi_4711.eml"},
		{"", "2026-01-02_0304_Hi_4711.eml"},
	} {
		if got := FileName(info, tt.style); got != tt.want {
			t.Errorf("FileName(style %q) = %q, want %q", tt.style, got, tt.want)
		}
	}
}

// TestFileNameZone checks that the date is the one the server gave, whatever
// the local zone.
func TestFileNameZone(t *testing.T) {
	saved := time.Local
	t.Cleanup(func() { time.Local = saved })
	seoul := time.FixedZone("", 9*3600)
	date := time.Date(2026, 11, 20, 0, 30, 0, 0, seoul) // 2026-11-19 15:30 UTC
	info := remote.MessageInfo{UID: 3, Subject: "x", InternalDate: date}
	want := "2026-11-20_0030_x_3.eml"
	for _, local := range []*time.Location{time.UTC, time.FixedZone("EST", -5*3600), seoul} {
		time.Local = local
		if got := FileName(info, StyleDescriptive); got != want {
			t.Errorf("with local zone %v: FileName = %q, want %q", local, got, want)
		}
		if got := FileName(remote.MessageInfo{UID: 3, Subject: "x", InternalDate: date.In(local)}, ""); local != seoul && got == want {
			t.Errorf("with local zone %v: converted date kept the server's hour", local)
		}
	}
}

func TestParseUID(t *testing.T) {
	tests := []struct {
		name string
		uid  uint32
		ok   bool
	}{
		{"4711.eml", 4711, true},
		{"1.eml", 1, true},
		{"4294967295.eml", 4294967295, true},
		{"2026-11-20_0915_Quarterly-report_4711.eml", 4711, true},
		{"2026-11-20_0915_a_b_c_42.eml", 42, true},
		{"2026-11-20_0915_no-subject_9.eml", 9, true},
		{"4294967296.eml", 0, false}, // overflows uint32
		{"99999999999.eml", 0, false},
		{"0.eml", 0, false},
		{"007.eml", 0, false},
		{"x_007.eml", 0, false},
		{"-1.eml", 0, false},
		{"+1.eml", 0, false},
		{"12", 0, false},
		{"12.EML", 0, false},
		{"12.eml.swp", 0, false},
		{".eml", 0, false},
		{"x_.eml", 0, false},
		{"x_1a.eml", 0, false},
		{"x_1 .eml", 0, false},
		{"", 0, false},
		{"INBOX", 0, false},
		{"١٢.eml", 0, false}, // Arabic-Indic digits
	}
	for _, tt := range tests {
		uid, ok := ParseUID(tt.name)
		if uid != tt.uid || ok != tt.ok {
			t.Errorf("ParseUID(%q) = %d, %v, want %d, %v", tt.name, uid, ok, tt.uid, tt.ok)
		}
	}
}

func TestComponentName(t *testing.T) {
	long := strings.Repeat("\t", 200) // 600 bytes of look-alikes
	tests := []struct{ in, want string }{
		{"INBOX", "INBOX"},
		{"보관함", "보관함"},
		{"a/b", "a\u2215b"},
		{"/", "\u2215"},
		{"nul\x00x", "nul\u2400x"},
		{"tab\tx", "tab\u2409x"},
		{"nl\nx", "nl\u240Ax"},
		{"cr\rx", "cr\u240Dx"},
		{"esc\x1b[31m", "esc\u241B[31m"},
		{"us\x1f", "us\u241F"},
		{"del\x7fx", "del\u2421x"},
		{"a\u2409b", "a\u2409b"}, // the look-alike itself is kept
		{"bad\xff", "bad\uFFFD"},
		{"bad\xff\xfe\xfdx", "bad\uFFFDx"}, // one U+FFFD per run
		{"caf\xe9", "caf\uFFFD"},           // Latin-1
		{"\xed\xa0\x80", "\uFFFD"},         // a UTF-16 surrogate in UTF-8
		{"\xff\t/", "\uFFFD\u2409\u2215"},
		{"\u0080\u009f", "\u0080\u009f"}, // C1 controls are not replaced
		{".", "\uFF0E"},
		{"..", "\uFF0E\uFF0E"},
		{"...", "..."},
		{".a", ".a"},
		{"a.", "a."},
		{" ", " "},
		{"~", "~"},
		{"", ""},
		{strings.Repeat("x", 255), strings.Repeat("x", 255)},
		{strings.Repeat("x", 256), strings.Repeat("x", 246) + hashSuffix(strings.Repeat("x", 256))},
		{long, strings.Repeat("\u2409", 82) + hashSuffix(long)},
	}
	for _, tt := range tests {
		got := componentName(tt.in)
		if got != tt.want {
			t.Errorf("componentName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := componentName(tt.in); again != got {
			t.Errorf("componentName(%q) is not a function: %q, then %q", tt.in, got, again)
		}
		if tt.in != "" {
			checkShowable(t, tt.in, got)
			checkShowable(t, tt.in, shownName(tt.in))
		}
	}
}

// TestComponentNameControls checks every control character on its own.
func TestComponentNameControls(t *testing.T) {
	for r := rune(0); r <= 0x7F; r++ {
		in := "a" + string(r) + "b"
		want := in
		switch {
		case r < 0x20:
			want = "a" + string(0x2400+r) + "b"
		case r == 0x7F:
			want = "a\u2421b"
		case r == '/':
			want = "a\u2215b"
		}
		if got := componentName(in); got != want {
			t.Errorf("componentName(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkShowable fails unless name can be a Linux file name: valid UTF-8,
// not empty, ".", "..", at most 255 bytes, no "/", NUL or other control
// character.
func checkShowable(t *testing.T, in, name string) {
	t.Helper()
	if !utf8.ValidString(name) || name == "" || name == "." || name == ".." || len(name) > 255 {
		t.Errorf("name of %q: %q (%d bytes) is not a file name", in, name, len(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7F || r == '/' {
			t.Errorf("name of %q: %q holds %U", in, name, r)
		}
	}
}

func TestShownName(t *testing.T) {
	for _, c := range []string{"a\tb", "a\u2409b", "a\xffb", "a\xfeb", ".", "/", strings.Repeat("\n", 300)} {
		got := shownName(c)
		if !strings.HasSuffix(got, hashSuffix(c)) || len(hashSuffix(c)) != hashSuffixLen {
			t.Errorf("shownName(%q) = %q: no %q at the end", c, got, hashSuffix(c))
		}
		if len(componentName(c)) < 200 && got != componentName(c)+hashSuffix(c) {
			t.Errorf("shownName(%q) = %q, want componentName %q and the hash", c, got, componentName(c))
		}
		checkShowable(t, c, got)
	}
	if shownName("a\xffb") == shownName("a\xfeb") {
		t.Errorf("shownName is the same for two spellings")
	}
	long := strings.Repeat("\n", 300)
	if shownName(long) != componentName(long) {
		t.Errorf("shownName of a cut name = %q, want componentName %q", shownName(long), componentName(long))
	}
}
