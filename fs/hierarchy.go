package fs

import (
	"slices"

	"mailfs/remote"
)

// level is what one directory of an account's mailbox hierarchy holds,
// computed from the account's mailbox list.
type level struct {
	// exists reports whether the path is a mailbox or the parent of one.
	exists bool
	// self is the mailbox with exactly this path; nil for an implied parent
	// and for the account directory.
	self *remote.Mailbox
	// subdirs are the child directories, in the order the mailboxes came.
	subdirs []subdir
}

// subdir is one child directory of a level: the name shown and the level
// as the server spells it. Every operation on the directory uses component
// (through folderNode's path), never name converted back.
type subdir struct {
	name      string // shown name: componentName, or shownName on a collision
	component string // the mailbox name level it stands for, exactly as listed
}

// describe returns the level at path (mailbox name levels as the server
// spells them, nil for the account directory). Mailboxes with an empty level
// are ignored.
//
// A child is shown as componentName of its level. When several levels give
// the same name ("a\tb" and "a␉b"), the one the server spells exactly so
// keeps it, and every other one is shown as shownName (the name with "~" and
// 8 hex digits of a hash of the server's spelling), so each stays reachable
// under a name that depends only on its own spelling. A level spelled as
// shown always has its name; should a changed level's name still be taken (a
// server level spelled like it, or a hash collision), the first level in the
// list that needs it has it and the other is not shown.
func describe(mboxes []remote.Mailbox, path []string) level {
	lv := level{exists: len(path) == 0}
	var components []string // distinct child levels, in list order
	seen := make(map[string]bool)
	for i := range mboxes {
		p := mboxes[i].Path()
		if len(p) < len(path) || !slices.Equal(p[:len(path)], path) || slices.Contains(p, "") {
			continue
		}
		lv.exists = true
		if len(p) == len(path) {
			if lv.self == nil {
				lv.self = &mboxes[i]
			}
			continue
		}
		if c := p[len(path)]; !seen[c] {
			seen[c] = true
			components = append(components, c)
		}
	}
	plain := make([]string, len(components))       // componentName of each
	shown := make(map[string]int, len(components)) // componentName → levels
	for i, c := range components {
		plain[i] = componentName(c)
		shown[plain[i]]++
	}
	// Levels spelled as shown take their names first, so that no other
	// level's name can take one from them.
	names := make(map[string]string, len(components)) // level → shown name
	taken := make(map[string]bool, len(components))
	for _, exact := range []bool{true, false} {
		for i, c := range components {
			name := plain[i]
			if (name == c) != exact {
				continue
			}
			if shown[name] > 1 && !exact {
				name = shownName(c)
			}
			if !taken[name] {
				taken[name] = true
				names[c] = name
			}
		}
	}
	for _, c := range components {
		if name, ok := names[c]; ok {
			lv.subdirs = append(lv.subdirs, subdir{name: name, component: c})
		}
	}
	return lv
}

// subdir returns the child directory shown as name.
func (lv level) subdir(name string) (subdir, bool) {
	for _, d := range lv.subdirs {
		if d.name == name {
			return d, true
		}
	}
	return subdir{}, false
}

// selectable returns the mailbox whose messages the directory lists, if any.
func (lv level) selectable() (*remote.Mailbox, bool) {
	if lv.self == nil || !lv.self.Selectable() {
		return nil, false
	}
	return lv.self, true
}
