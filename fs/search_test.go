package fs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"mailfs/remote"
)

// memSearches is a SearchStore in memory, shared by two mounts in turn.
type memSearches struct {
	mu sync.Mutex
	m  map[string][]string
}

func (s *memSearches) Searches(account string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.m[account]), nil
}

func (s *memSearches) SetSearches(account string, queries []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]string{}
	}
	s.m[account] = slices.Clone(queries)
	return nil
}

// TestSearchFolders runs searches over a POP3 store (which searches
// locally): the built-in ones, a saved one, results that follow flag
// changes, rm through a search folder, and a saved search that outlives
// the mount.
func TestSearchFolders(t *testing.T) {
	store := twoMessageStore(t)
	saved := &memSearches{}
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{TempDir: t.TempDir(), Searches: saved})
	acct := filepath.Join(mnt, "pop")
	search := filepath.Join(acct, searchDirName)

	if got := readDirNames(t, acct); slices.Contains(got, searchDirName+"/") {
		t.Errorf("ReadDir(pop) = %q: .search must not be listed", got)
	}
	if got := readDirNames(t, search); !slices.Equal(got, []string{"flagged/", "today/", "unread/"}) {
		t.Errorf("ReadDir(.search) = %q, want the built-in searches", got)
	}
	inbox := readDirNames(t, filepath.Join(acct, "INBOX"))
	if got := readDirNames(t, filepath.Join(search, "unread")); !slices.Equal(got, inbox) {
		t.Fatalf("unread = %q, want every message %q", got, inbox)
	}
	// The same file: inode and bytes.
	a, errA := os.Stat(filepath.Join(search, "unread", inbox[0]))
	b, errB := os.Stat(filepath.Join(acct, "INBOX", inbox[0]))
	if errA != nil || errB != nil || a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("a search entry is not the folder's inode: %v %v", errA, errB)
	}
	if got := readDirNames(t, filepath.Join(search, "flagged")); len(got) != 0 {
		t.Errorf("flagged = %q, want none", got)
	}

	// Reading one (setting \Seen) takes it out of unread at the next ls.
	if out, err := run(t, "setfattr", "-n", "user.mail.flags", "-v", `\Seen \Flagged`, filepath.Join(acct, "INBOX", inbox[0])); err != nil {
		t.Fatalf("setfattr: %v: %s", err, out)
	}
	if got := readDirNames(t, filepath.Join(search, "unread")); !slices.Equal(got, inbox[1:]) {
		t.Errorf("unread after \\Seen = %q, want %q", got, inbox[1:])
	}
	if got := readDirNames(t, filepath.Join(search, "flagged")); !slices.Equal(got, inbox[:1]) {
		t.Errorf("flagged = %q, want %q", got, inbox[:1])
	}

	// A saved search.
	q := filepath.Join(search, "subject:second OR from:nobody")
	if err := os.Mkdir(q, 0o700); err != nil {
		t.Fatalf("mkdir query: %v", err)
	}
	if got := readDirNames(t, q); !slices.Equal(got, inbox[1:]) {
		t.Errorf("saved search = %q, want %q", got, inbox[1:])
	}
	for _, tt := range []struct {
		name string
		want error
	}{
		{"subject:second OR from:nobody", syscall.EEXIST},
		{"unread", syscall.EEXIST},
		{"from:", syscall.EINVAL},
		{"(unseen", syscall.EINVAL},
	} {
		if err := os.Mkdir(filepath.Join(search, tt.name), 0o700); !errors.Is(err, tt.want) {
			t.Errorf("mkdir %q = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := os.Remove(filepath.Join(search, "unread")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rmdir unread = %v, want EPERM", err)
	}
	if got, _ := saved.Searches("pop"); !slices.Equal(got, []string{"subject:second OR from:nobody"}) {
		t.Errorf("saved searches = %q", got)
	}

	// rm through a search folder removes the message (POP3: from the store).
	if err := os.Remove(filepath.Join(q, inbox[1])); err != nil {
		t.Fatalf("rm through the search: %v", err)
	}
	if got := readDirNames(t, filepath.Join(acct, "INBOX")); !slices.Equal(got, inbox[:1]) {
		t.Errorf("INBOX after rm = %q, want %q", got, inbox[:1])
	}
	if got := readDirNames(t, q); len(got) != 0 {
		t.Errorf("saved search after rm = %q, want empty", got)
	}
	if err := os.Remove(q); err != nil {
		t.Errorf("rmdir of the saved search: %v", err)
	}
	if _, err := os.Stat(q); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after rmdir = %v, want ENOENT", err)
	}
	if err := os.Mkdir(q, 0o700); err != nil {
		t.Fatal(err)
	}

	// Another mount with the same store finds the saved search.
	mnt2 := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{TempDir: t.TempDir(), Searches: saved})
	if got := readDirNames(t, filepath.Join(mnt2, "pop", searchDirName)); !slices.Contains(got, "subject:second OR from:nobody/") {
		t.Errorf("a second mount lists %q, want the saved search", got)
	}
}

// TestOutOfSearch: searches leave out the Trash (by name or attribute)
// and Junk, and nothing else.
func TestOutOfSearch(t *testing.T) {
	for _, tt := range []struct {
		m     remote.Mailbox
		trash string
		out   bool
	}{
		{remote.Mailbox{Name: "INBOX"}, "Trash", false},
		{remote.Mailbox{Name: "Trash"}, "Trash", true},
		{remote.Mailbox{Name: "Deleted Items"}, "Deleted Items", true},
		{remote.Mailbox{Name: "Bin", Attrs: []string{`\Trash`}}, "", true},
		{remote.Mailbox{Name: "Spam", Attrs: []string{`\HasNoChildren`, `\junk`}}, "", true},
		{remote.Mailbox{Name: "Archive", Attrs: []string{`\Archive`}}, "Trash", false},
		{remote.Mailbox{Name: "Trash"}, "", false}, // no Trash named, no attribute: an ordinary folder
	} {
		if got := outOfSearch(tt.m, tt.trash); got != tt.out {
			t.Errorf("outOfSearch(%+v, %q) = %v, want %v", tt.m, tt.trash, got, tt.out)
		}
	}
}
