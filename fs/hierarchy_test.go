package fs

import (
	"slices"
	"testing"

	"mailfs/remote"
)

func TestDescribe(t *testing.T) {
	slash := []remote.Mailbox{
		{Name: "INBOX", Delim: '/'},
		{Name: "Archive", Delim: '/', Attrs: []string{`\Noselect`, `\HasChildren`}},
		{Name: "Archive/2024", Delim: '/'},
		{Name: "Archive/2025", Delim: '/'},
		{Name: "a/b/c", Delim: '/'},
		{Name: "x//y", Delim: '/'}, // empty level: not shown
	}
	dot := []remote.Mailbox{
		{Name: "INBOX", Delim: '.'},
		{Name: "INBOX.a/b", Delim: '.'},
		{Name: "flat/name", Delim: 0},
	}
	tests := []struct {
		name       string
		mboxes     []remote.Mailbox
		path       []string
		exists     bool
		self       string // "" when none
		selectable bool
		subdirs    []string
	}{
		{"account", slash, nil, true, "", false, []string{"INBOX", "Archive", "a"}},
		{"noselect", slash, []string{"Archive"}, true, "Archive", false, []string{"2024", "2025"}},
		{"leaf", slash, []string{"Archive", "2024"}, true, "Archive/2024", true, nil},
		{"implied parent", slash, []string{"a"}, true, "", false, []string{"b"}},
		{"implied grandchild", slash, []string{"a", "b"}, true, "", false, []string{"c"}},
		{"missing", slash, []string{"nope"}, false, "", false, nil},
		{"empty level", slash, []string{"x"}, false, "", false, nil},
		{"dot delimiter", dot, nil, true, "", false, []string{"INBOX", "flat\u2215name"}},
		{"slash in component", dot, []string{"INBOX"}, true, "INBOX", true, []string{"a\u2215b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lv := describe(tt.mboxes, tt.path)
			if lv.exists != tt.exists {
				t.Errorf("exists = %v, want %v", lv.exists, tt.exists)
			}
			self := ""
			if lv.self != nil {
				self = lv.self.Name
			}
			if self != tt.self {
				t.Errorf("self = %q, want %q", self, tt.self)
			}
			if _, ok := lv.selectable(); ok != tt.selectable {
				t.Errorf("selectable = %v, want %v", ok, tt.selectable)
			}
			var names []string
			for _, d := range lv.subdirs {
				names = append(names, d.name)
				if got, ok := lv.subdir(d.name); !ok || got != d {
					t.Errorf("subdir(%q) = %v, %v", d.name, got, ok)
				}
			}
			if !slices.Equal(names, tt.subdirs) {
				t.Errorf("subdirs = %q, want %q", names, tt.subdirs)
			}
		})
	}
}

// TestDescribeOddNames checks that every level is reachable under one name,
// that each name leads back to the level exactly as the server spells it,
// and what names colliding levels get.
func TestDescribeOddNames(t *testing.T) {
	mboxes := []remote.Mailbox{
		{Name: "INBOX", Delim: '/'},
		{Name: "a\tb", Delim: '/'},
		{Name: "a\u2409b", Delim: '/'}, // shown like "a\tb": keeps the plain name
		{Name: "caf\xe9", Delim: '/'},
		{Name: "caf\xe8", Delim: '/'}, // both show as "caf�": both get a hash
		{Name: "nl\nx/sub\x7f", Delim: '/'},
		{Name: "nl\nx/sub\u2421", Delim: '/'},
		{Name: "./..", Delim: '/'},
	}
	tests := []struct {
		path []string
		want map[string]string // shown name → server level
	}{
		{nil, map[string]string{
			"INBOX":                             "INBOX",
			"a\u2409b" + hashSuffix("a\tb"):     "a\tb",
			"a\u2409b":                          "a\u2409b",
			"caf\uFFFD" + hashSuffix("caf\xe9"): "caf\xe9",
			"caf\uFFFD" + hashSuffix("caf\xe8"): "caf\xe8",
			"nl\u240Ax":                         "nl\nx",
			"\uFF0E":                            ".",
		}},
		{[]string{"nl\nx"}, map[string]string{
			"sub\u2421" + hashSuffix("sub\x7f"): "sub\x7f",
			"sub\u2421":                         "sub\u2421",
		}},
		{[]string{"."}, map[string]string{"\uFF0E\uFF0E": ".."}},
	}
	for _, tt := range tests {
		lv := describe(mboxes, tt.path)
		if !lv.exists {
			t.Errorf("%q: does not exist", tt.path)
		}
		got := map[string]string{}
		for _, d := range lv.subdirs {
			if _, dup := got[d.name]; dup {
				t.Errorf("%q: two levels shown as %q", tt.path, d.name)
			}
			got[d.name] = d.component
			if back, ok := lv.subdir(d.name); !ok || back.component != d.component {
				t.Errorf("%q: subdir(%q) = %q, %v; want %q", tt.path, d.name, back.component, ok, d.component)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %d subdirs %q, want %d %q", tt.path, len(got), got, len(tt.want), tt.want)
		}
		for name, c := range tt.want {
			if got[name] != c {
				t.Errorf("%q: %q leads to %q, want %q", tt.path, name, got[name], c)
			}
		}
	}
	// The names do not depend on the order of the list.
	rev := slices.Clone(mboxes)
	slices.Reverse(rev)
	for _, d := range describe(mboxes, nil).subdirs {
		if back, ok := describe(rev, nil).subdir(d.name); !ok || back.component != d.component {
			t.Errorf("reversed list: %q leads to %q, %v; want %q", d.name, back.component, ok, d.component)
		}
	}
	// The mailbox of a level is found by its exact name.
	if lv := describe(mboxes, []string{"caf\xe9"}); lv.self == nil || lv.self.Name != "caf\xe9" {
		t.Errorf("level caf\\xe9: self = %v", lv.self)
	}
}

// TestDescribeTakenHash checks the last resort: a level spelled like the
// hashed name of another keeps its name, whatever the order.
func TestDescribeTakenHash(t *testing.T) {
	squatter := "a\u2409b" + hashSuffix("a\tb")
	for _, mboxes := range [][]remote.Mailbox{
		{{Name: "a\tb"}, {Name: "a\u2409b"}, {Name: squatter}},
		{{Name: squatter}, {Name: "a\u2409b"}, {Name: "a\tb"}},
	} {
		lv := describe(mboxes, nil)
		for name, want := range map[string]string{"a\u2409b": "a\u2409b", squatter: squatter} {
			if d, ok := lv.subdir(name); !ok || d.component != want {
				t.Errorf("%q: subdir(%q) = %q, %v; want %q", mboxes, name, d.component, ok, want)
			}
		}
		if len(lv.subdirs) != 2 {
			t.Errorf("%q: %d subdirs, want 2 (a<TAB>b has no name left)", mboxes, len(lv.subdirs))
		}
	}
}
