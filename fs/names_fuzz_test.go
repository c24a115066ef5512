package fs

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailfs/remote"
)

// FuzzFileName checks every name FileName derives, in both styles: a valid
// file name (valid UTF-8, no "/" or NUL, not "." or "..", at most 255
// bytes) ending in ".eml", from which ParseUID gives back the UID.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{
		"", "Quarterly report", "=?UTF-8?B?7JWI64WV?=", "a/b\x00c", "../..", "\xff\xfe\xfd",
		"Re: [list] Ünïcödé — 日本語 한국어", strings.Repeat("𝔘", 100), strings.Repeat("é", 300),
		"a\u0301\u0302\u0303", "\u0301only marks", "tab\tnew\nline\r", "_42.eml", "-_-",
	} {
		f.Add(s, uint32(4711), int64(1763630100), int32(3600))
	}
	f.Add("x", uint32(1), int64(0), int32(0))
	f.Add("x", uint32(4294967295), int64(-62135596800), int32(-50400))
	f.Add("x", uint32(10), int64(253402300799), int32(50400))
	f.Fuzz(func(t *testing.T, subject string, uid uint32, unix int64, offset int32) {
		if uid == 0 {
			uid = 1 // UIDs start at 1 (RFC 3501 2.3.1.1; the POP3 store's numbers too)
		}
		// INTERNALDATE: years 0000–9999 in a zone of at most ±14 h.
		unix = unix % 253402300800
		if unix < -62167219200 {
			unix = -62167219200
		}
		zone := time.FixedZone("", int(offset%(14*3600)))
		info := remote.MessageInfo{UID: uid, Subject: subject, InternalDate: time.Unix(unix, 0).In(zone)}
		for _, style := range []string{StyleDescriptive, StyleUID} {
			name := FileName(info, style)
			if !utf8.ValidString(name) {
				t.Fatalf("%s name %q is not valid UTF-8", style, name)
			}
			if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
				t.Fatalf("%s name %q is not a valid file name", style, name)
			}
			if len(name) > 255 {
				t.Fatalf("%s name of %q: got %d bytes, want at most 255", style, subject, len(name))
			}
			if !strings.HasSuffix(name, ".eml") {
				t.Fatalf("%s name %q: want the suffix .eml", style, name)
			}
			got, ok := ParseUID(name)
			if !ok || got != uid {
				t.Fatalf("ParseUID(%q): got %d, %v; want %d, true", name, got, ok, uid)
			}
		}
	})
}

// FuzzParseUID checks that ParseUID never panics and that a UID it reports
// is the decimal number that ends the name before ".eml".
func FuzzParseUID(f *testing.F) {
	for _, s := range []string{
		"1.eml", "0.eml", "01.eml", "4294967295.eml", "4294967296.eml", "2026-11-20_0915_x_4711.eml",
		".eml", "_.eml", "a_1_2.eml", "1.EML", "1.eml.eml", "\xff_7.eml", "+1.eml", "-1.eml", " 1.eml",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		uid, ok := ParseUID(name)
		if !ok {
			return
		}
		if uid == 0 {
			t.Fatalf("ParseUID(%q): got UID 0, want false", name)
		}
		if want := strconv.FormatUint(uint64(uid), 10) + ".eml"; !strings.HasSuffix(name, want) {
			t.Fatalf("ParseUID(%q): got %d, but the name does not end in %q", name, uid, want)
		}
		stem := strings.TrimSuffix(name, strconv.FormatUint(uint64(uid), 10)+".eml")
		if stem != "" && !strings.HasSuffix(stem, "_") {
			t.Fatalf("ParseUID(%q): got %d from a number not after %q", name, uid, "_")
		}
	})
}
