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

// subdir is one child directory of a level.
type subdir struct {
	name      string // shown name (componentName of component)
	component string // the mailbox name level it stands for
}

// describe returns the level at path (mailbox name levels, nil for the
// account directory). Mailboxes with an empty level are ignored; when two
// levels show under the same name, the first wins.
func describe(mboxes []remote.Mailbox, path []string) level {
	lv := level{exists: len(path) == 0}
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
		c := p[len(path)]
		name := componentName(c)
		if seen[name] {
			continue
		}
		seen[name] = true
		lv.subdirs = append(lv.subdirs, subdir{name: name, component: c})
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
