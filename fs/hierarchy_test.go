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
