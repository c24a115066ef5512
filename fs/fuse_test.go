package fs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote"
)

var (
	seoul = time.FixedZone("", 9*3600)
	date1 = time.Date(2026, 11, 20, 9, 15, 30, 0, seoul)
	date2 = time.Date(2025, 1, 2, 23, 59, 0, 0, time.UTC)
)

// workAccount returns a fake account with a small mailbox hierarchy:
// INBOX (2 messages), Archive (\Noselect) with 2024 (1 message), a/b/c
// (a and a/b implied), 보관함 (empty).
func workAccount(t *testing.T) *fakeSource {
	t.Helper()
	src := newFakeSource(t,
		remote.Mailbox{Name: "INBOX", Delim: '/'},
		remote.Mailbox{Name: "Archive", Delim: '/', Attrs: []string{`\Noselect`}},
		remote.Mailbox{Name: "Archive/2024", Delim: '/'},
		remote.Mailbox{Name: "a/b/c", Delim: '/'},
		remote.Mailbox{Name: "보관함", Delim: '/'},
	)
	src.add("INBOX", 4711, "Quarterly report", date1, "Subject: Quarterly report\r\n\r\nNumbers.\r\n", -1)
	src.add("INBOX", 4712, "회의 🎉", date2, "Subject: =?utf-8?b?7ZqM7J2YIPCfjok=?=\r\n\r\nSee you.\r\n", -1)
	src.add("Archive/2024", 3, "", date2, "\r\nold\r\n", -1)
	src.add("a/b/c", 1, "deep", date1, "deep body\r\n", -1)
	return src
}

func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names
}

func TestMountTree(t *testing.T) {
	work := workAccount(t)
	other := newFakeSource(t,
		remote.Mailbox{Name: "INBOX", Delim: '.'},
		remote.Mailbox{Name: "INBOX.a/b", Delim: '.'},
	)
	other.add("INBOX.a/b", 5, "slashy", date1, "x", -1)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}, {Name: "other", Source: other}}, nil)

	tests := []struct {
		dir  string
		want []string
	}{
		{"", []string{"other/", "work/"}},
		{"work", []string{"Archive/", "INBOX/", "a/", "보관함/"}},
		{"work/INBOX", []string{"2025-01-02_2359_회의_4712.eml", "2026-11-20_0915_Quarterly-report_4711.eml"}},
		{"work/Archive", []string{"2024/"}},
		{"work/Archive/2024", []string{"2025-01-02_2359_no-subject_3.eml"}},
		{"work/a", []string{"b/"}},
		{"work/a/b", []string{"c/"}},
		{"work/a/b/c", []string{"2026-11-20_0915_deep_1.eml"}},
		{"work/보관함", nil},
		{"other", []string{"INBOX/"}},
		{"other/INBOX", []string{"a∕b/"}},
		{"other/INBOX/a∕b", []string{"2026-11-20_0915_slashy_5.eml"}},
	}
	for _, tt := range tests {
		got := readDirNames(t, filepath.Join(mnt, tt.dir))
		if !slices.Equal(got, tt.want) {
			t.Errorf("ReadDir(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}

	// Attributes of a message.
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: Quarterly report\r\n\r\nNumbers.\r\n"
	if fi.Size() != int64(len(body)) {
		t.Errorf("size = %d, want %d", fi.Size(), len(body))
	}
	if !fi.ModTime().Equal(date1) {
		t.Errorf("mtime = %v, want %v", fi.ModTime(), date1)
	}
	if fi.Mode() != 0o444 {
		t.Errorf("mode = %v, want %v", fi.Mode(), fs.FileMode(0o444))
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Nlink != 2 || st.Uid != uint32(os.Geteuid()) || st.Gid != uint32(os.Getegid()) {
		t.Errorf("nlink, uid, gid = %d, %d, %d, want 2 (the .eml name and the Maildir one), %d, %d", st.Nlink, st.Uid, st.Gid, os.Geteuid(), os.Getegid())
	}
	wantIno := messageIno("work", "INBOX", fakeUIDValidity, 4711)
	if st.Ino != wantIno {
		t.Errorf("ino = %d, want %d", st.Ino, wantIno)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != body {
		t.Errorf("ReadFile = %q, %v, want %q", got, err, body)
	}

	// Attributes of directories.
	for _, d := range []string{"", "work", "work/INBOX", "work/Archive", "work/a/b"} {
		fi, err := os.Stat(filepath.Join(mnt, d))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != fs.ModeDir|0o500 {
			t.Errorf("mode of %q = %v, want %v", d, fi.Mode(), fs.ModeDir|0o500)
		}
	}

	// Names that are not there.
	for _, name := range []string{
		"nope", "work/nope", "work/Archive/x_3.eml", "work/INBOX/4711.eml",
		"work/INBOX/2026-11-20_0915_Wrong-subject_4711.eml",
		"work/INBOX/2026-11-20_0915_Quarterly-report_9999.eml",
		"work/a/1.eml", "work/INBOX/.hidden",
	} {
		if _, err := os.Stat(filepath.Join(mnt, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) error = %v, want ENOENT", name, err)
		}
	}
}

func TestWalkDir(t *testing.T) {
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, nil)
	var files []string
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() != int64(len(b)) {
			t.Errorf("%s: size %d, read %d bytes", p, fi.Size(), len(b))
		}
		rel, _ := filepath.Rel(mnt, p)
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("WalkDir: %v", err)
	}
	want := []string{
		"work/Archive/2024/2025-01-02_2359_no-subject_3.eml",
		"work/INBOX/2025-01-02_2359_회의_4712.eml",
		"work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml",
		"work/a/b/c/2026-11-20_0915_deep_1.eml",
	}
	if !slices.Equal(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
}

// TestNewMail checks that a new message shows up once the listing is older
// than StaleAfter, and that looking up every file does not sync.
func TestNewMail(t *testing.T) {
	const stale = 20 * time.Millisecond
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, &Options{StaleAfter: stale})
	inbox := filepath.Join(mnt, "work/INBOX")

	if got := readDirNames(t, inbox); len(got) != 2 {
		t.Fatalf("ReadDir = %q, want 2 messages", got)
	}
	syncs := work.syncCount("INBOX")
	time.Sleep(2 * stale)
	// Lookups trust the listing: no sync per file.
	for _, name := range []string{"2025-01-02_2359_회의_4712.eml", "2026-11-20_0915_Quarterly-report_4711.eml"} {
		if _, err := os.Stat(filepath.Join(inbox, name)); err != nil {
			t.Fatal(err)
		}
	}
	if got := work.syncCount("INBOX"); got != syncs {
		t.Errorf("stat of known files synced the listing %d times, want 0", got-syncs)
	}

	// A new message appears in ReadDir once the listing is stale.
	info := work.add("INBOX", 4800, "New mail", date1, "fresh\r\n", -1)
	time.Sleep(2 * stale)
	name := FileName(info, StyleDescriptive)
	if got := readDirNames(t, inbox); !slices.Contains(got, name) {
		t.Errorf("ReadDir = %q, want it to contain %q", got, name)
	}

	// A name missing from a stale listing is looked up on the server once.
	info = work.add("INBOX", 4801, "Newer mail", date1, "fresher\r\n", -1)
	time.Sleep(2 * stale)
	syncs = work.syncCount("INBOX")
	b, err := os.ReadFile(filepath.Join(inbox, FileName(info, StyleDescriptive)))
	if err != nil || string(b) != "fresher\r\n" {
		t.Errorf("ReadFile(new message) = %q, %v", b, err)
	}
	if got := work.syncCount("INBOX") - syncs; got != 1 {
		t.Errorf("lookup of a new message synced %d times, want 1", got)
	}
}

func TestOpenForWrite(t *testing.T) {
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, nil)
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	openFile := func(flag int) {
		t.Helper()
		f, err := os.OpenFile(p, flag, 0)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, syscall.EACCES) {
			t.Errorf("OpenFile(flags %#x) error = %v, want EACCES", flag, err)
		}
	}
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_RDWR | os.O_CREATE} {
		openFile(flag)
	}
	if got := work.openCount(4711); got != 0 {
		t.Errorf("Source.Open called %d times for opens for writing, want 0", got)
	}
	// Without atomic O_TRUNC the kernel opens read-only, then truncates:
	// the truncation is refused.
	openFile(os.O_RDONLY | os.O_TRUNC)
	if err := os.Truncate(p, 0); !errors.Is(err, syscall.EACCES) {
		t.Errorf("Truncate error = %v, want EACCES", err)
	}
	if err := os.Chtimes(p, time.Now(), time.Now()); !errors.Is(err, syscall.EACCES) {
		t.Errorf("Chtimes error = %v, want EACCES", err)
	}
	if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
		t.Errorf("ReadFile after refused writes = %q, %v", b, err)
	}
}

func TestReadUnavailable(t *testing.T) {
	work := workAccount(t)
	logs := &logBuffer{}
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, &Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	work.setOpenErr(fmt.Errorf("fetch INBOX/4712: dial tcp: connection refused: %w", remote.ErrUnavailable))
	p := filepath.Join(mnt, "work/INBOX/2025-01-02_2359_회의_4712.eml")
	_, err := os.ReadFile(p)
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("ReadFile error = %v, want EIO", err)
	}
	log := logs.String()
	for _, want := range []string{"account=work", "mailbox=INBOX", "uid=4712", "connection refused"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q does not contain %q", log, want)
		}
	}
	// The listing still works.
	if _, err := os.Stat(p); err != nil {
		t.Errorf("Stat while unavailable: %v", err)
	}
}

// TestRepeatedReads checks that reads are served from the kernel's page
// cache: the kernel may open the file again, but the Source is asked at most
// once per open and the bytes stay right.
func TestRepeatedReads(t *testing.T) {
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, nil)
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	const opens = 3
	body := "Subject: Quarterly report\r\n\r\nNumbers.\r\n"
	for i := range opens {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != body {
			t.Fatalf("ReadFile = %q, %v, want %q", b, err, body)
		}
		if i == 0 {
			// Later reads must come from the kernel's page cache
			// (FOPEN_KEEP_CACHE), not from the body file.
			work.setBody("INBOX", 4711, strings.Repeat("X", len(body)))
		}
	}
	if got := work.openCount(4711); got < 1 || got > opens {
		t.Errorf("Source.Open called %d times for %d opens, want 1..%d", got, opens, opens)
	}

	// Reads of an open file are served without the Source: it fails now,
	// yet a descriptor opened before reads the right bytes.
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	work.setOpenErr(fmt.Errorf("%w", remote.ErrUnavailable))
	buf := make([]byte, 7)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "Subject" {
		t.Errorf("ReadAt = %q, %v, want %q", buf, err, "Subject")
	}
}

// TestSizeCorrection checks that the body's true size wins over the listed
// one once the message was opened.
func TestSizeCorrection(t *testing.T) {
	work := workAccount(t)
	body := strings.Repeat("0123456789", 10)
	info := work.add("INBOX", 5000, "wrong size", date1, body, 10)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, nil)
	p := filepath.Join(mnt, "work/INBOX", FileName(info, StyleDescriptive))
	if fi, err := os.Stat(p); err != nil || fi.Size() != 10 {
		t.Fatalf("Stat before open = %v, %v, want size 10", fi, err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != body {
		t.Errorf("ReadFile = %q, %v, want %q", b, err, body)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != int64(len(body)) {
		t.Errorf("Stat after open = size %d, %v, want %d", fi.Size(), err, len(body))
	}
}

func TestUIDNames(t *testing.T) {
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, &Options{Filenames: StyleUID})
	got := readDirNames(t, filepath.Join(mnt, "work/INBOX"))
	if want := []string{"4711.eml", "4712.eml"}; !slices.Equal(got, want) {
		t.Errorf("ReadDir = %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "work/a/b/c/1.eml")); err != nil || string(b) != "deep body\r\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(descriptive name) error = %v, want ENOENT", err)
	}
}

func TestMountErrors(t *testing.T) {
	src := newFakeSource(t)
	dir := t.TempDir()
	tests := []struct {
		name     string
		accounts []Account
		opts     *Options
		want     string
	}{
		{"empty name", []Account{{Name: "", Source: src}}, nil, "cannot be a directory name"},
		{"slash", []Account{{Name: "a/b", Source: src}}, nil, "cannot be a directory name"},
		{"dot dot", []Account{{Name: "..", Source: src}}, nil, "cannot be a directory name"},
		{"reserved", []Account{{Name: "outbox", Source: src}}, nil, "reserved"},
		{"twice", []Account{{Name: "a", Source: src}, {Name: "a", Source: src}}, nil, "used twice"},
		{"no source", []Account{{Name: "a"}}, nil, "no source"},
		{"bad filenames", nil, &Options{Filenames: "short"}, "filenames"},
	}
	for _, tt := range tests {
		srv, err := Mount(dir, tt.accounts, tt.opts)
		if err == nil {
			srv.Unmount()
			t.Errorf("%s: Mount succeeded, want an error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.want)
		}
	}
	if _, err := Mount(filepath.Join(dir, "missing"), nil, nil); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("Mount(missing dir) error = %v, want a mount point error", err)
	}
}
