package outbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailfs/internal/atomicfile"
)

// Area is a directory of the outbox whose files are ordinary files, stored
// in the spool until mailfs takes them (see the package documentation).
type Area int

// The areas.
const (
	// AreaOutbox is outbox/ itself: held messages and editors' side files.
	AreaOutbox Area = iota
	// AreaDrafts is outbox/drafts/: files kept, never sent.
	AreaDrafts
)

// DraftsDir is the name of the drafts area inside outbox/.
const DraftsDir = "drafts"

// dir returns the spool directory of the area.
func (a Area) dir() string {
	if a == AreaDrafts {
		return draftsDir
	}
	return filesDir
}

func (a Area) String() string {
	if a == AreaDrafts {
		return "outbox/" + DraftsDir
	}
	return "outbox"
}

// IsSideFile reports whether name is one of the files editors and tools
// write beside the file they edit, which outbox/ keeps as scratch files and
// never sends: dotfiles (vim's .NAME.swp, emacs's .#NAME lock, atomic-save
// temporaries), backups (NAME~), emacs's auto-save #NAME#, vim's swap
// names NAME.swp, .swo, .swn and .swx, and the probe files vim creates
// before a save to test the directory ("4913", then 4913+123k).
func IsSideFile(name string) bool {
	switch {
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "~"),
		len(name) >= 2 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	}
	for _, ext := range []string{".swp", ".swo", ".swn", ".swx"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 4913 && n < 100000 && (n-4913)%123 == 0 && strconv.Itoa(n) == name {
		return true
	}
	return false
}

// editorFiles returns the side files whose presence says that an editor
// has name open: vim's and nano's swap files (.NAME.swp, .swo, .swn) and
// emacs's lock (.#NAME) and auto-save file (#NAME#).
func editorFiles(name string) []string {
	return []string{"." + name + ".swp", "." + name + ".swo", "." + name + ".swn", ".#" + name, "#" + name + "#"}
}

// ErrMessageName is returned by OpenFile for a file that is a message (it
// is not a side file in outbox/): a message is written through Create.
var ErrMessageName = errors.New("is a message: write it through Create")

// isMessage reports whether a file called name in area is a message.
func isMessage(area Area, name string) bool {
	return area == AreaOutbox && !IsSideFile(name)
}

// filePath returns the spool path of name in area, checking the name.
func (o *Outbox) filePath(area Area, name string) (string, error) {
	if err := checkName(name); err != nil || name == DraftsDir {
		return "", fmt.Errorf("outbox: %s/%s: %w", area, name, ErrBadName)
	}
	return o.path(area.dir(), name), nil
}

// fileEntry describes the file fi in area.
func (o *Outbox) fileEntry(area Area, fi os.FileInfo) Entry {
	e := Entry{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), Mode: fi.Mode().Perm()}
	switch {
	case area == AreaDrafts:
		e.State = StateDraft
	case isMessage(area, fi.Name()):
		e.State = StateHeld
		o.mu.Lock()
		e.NextAttempt = o.held[fi.Name()]
		o.mu.Unlock()
		e.HeldBy = o.heldBy(fi.Name())
	default:
		e.State = StateScratch
	}
	return e
}

// Files lists the files of area, by name: in Outbox, the held messages and
// the side files; in Drafts, the drafts.
func (o *Outbox) Files(area Area) ([]Entry, error) {
	ents, err := os.ReadDir(o.path(area.dir()))
	if err != nil {
		return nil, fmt.Errorf("outbox: list %s: %w", area, err)
	}
	es := make([]Entry, 0, len(ents))
	for _, de := range ents {
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue // removed meanwhile, or not made by mailfs
		}
		es = append(es, o.fileEntry(area, fi))
	}
	return es, nil
}

// StatFile describes the file name of area. Errors wrap fs.ErrNotExist when
// there is none.
func (o *Outbox) StatFile(area Area, name string) (Entry, error) {
	p, err := o.filePath(area, name)
	if err != nil {
		return Entry{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return Entry{}, fmt.Errorf("outbox: %s/%s: %w", area, name, err)
	}
	if !fi.Mode().IsRegular() {
		return Entry{}, notExist(name)
	}
	return o.fileEntry(area, fi), nil
}

// OpenFile opens the file name of area as os.OpenFile does. A held message
// opens only for reading: a new version of it is written through Create,
// and OpenFile refuses to create or write one with an error wrapping
// ErrMessageName.
func (o *Outbox) OpenFile(area Area, name string, flag int, perm os.FileMode) (*os.File, error) {
	p, err := o.filePath(area, name)
	if err != nil {
		return nil, err
	}
	if isMessage(area, name) && (flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0) {
		return nil, fmt.Errorf("outbox: %s/%s: %w", area, name, ErrMessageName)
	}
	f, err := os.OpenFile(p, flag|syscall.O_NOFOLLOW, perm&0o700)
	if err != nil {
		return nil, fmt.Errorf("outbox: %s/%s: %w", area, name, err)
	}
	return f, nil
}

// FileAttr is a change of a file's attributes; nil fields stay as they are.
type FileAttr struct {
	Size  *int64
	Mode  *os.FileMode
	Atime *time.Time
	Mtime *time.Time
}

// SetFileAttr changes the attributes of the file name of area (truncate,
// chmod, touch). A held message keeps its size (an error wrapping
// ErrMessageName) and its mode; its times may change.
func (o *Outbox) SetFileAttr(area Area, name string, a FileAttr) error {
	p, err := o.filePath(area, name)
	if err != nil {
		return err
	}
	msg := isMessage(area, name)
	if a.Size != nil {
		if msg {
			return fmt.Errorf("outbox: truncate %s/%s: %w", area, name, ErrMessageName)
		}
		if err := os.Truncate(p, *a.Size); err != nil {
			return fmt.Errorf("outbox: truncate %s/%s: %w", area, name, err)
		}
	}
	if a.Mode != nil && !msg {
		if err := os.Chmod(p, *a.Mode&0o700); err != nil {
			return fmt.Errorf("outbox: chmod %s/%s: %w", area, name, err)
		}
	}
	if a.Atime != nil || a.Mtime != nil {
		var at, mt time.Time // zero: leave as it is
		if a.Atime != nil {
			at = *a.Atime
		}
		if a.Mtime != nil {
			mt = *a.Mtime
		}
		if err := os.Chtimes(p, at, mt); err != nil {
			return fmt.Errorf("outbox: touch %s/%s: %w", area, name, err)
		}
	}
	return nil
}

// RemoveFile deletes the file name of area; a held message is cancelled.
func (o *Outbox) RemoveFile(area Area, name string) error {
	p, err := o.filePath(area, name)
	if err != nil {
		return err
	}
	o.filesMu.Lock()
	defer o.filesMu.Unlock()
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("outbox: remove %s/%s: %w", area, name, err)
	}
	if isMessage(area, name) {
		o.unhold(name)
		o.log.Info("outbox: held message removed, not sent", "name", name)
	}
	return nil
}

// ErrNameInUse is returned by RenameFile when the new name is that of a
// queued or failed message.
var ErrNameInUse = errors.New("name is used by a queued or failed message")

// RenameFile renames the file from of area fa to to in area ta, replacing
// a file of that name unless noReplace (then an existing one is an error
// wrapping fs.ErrExist). A file that becomes a message in outbox/ (a side
// file renamed to a message name, as atomic saves do, or a draft moved out
// of drafts/) is validated first: an invalid one stays where it is and the
// error wraps ErrInvalid with the reason. It is then held like a message
// just written. A held message renamed to a side file or into drafts/ is
// no longer sent.
func (o *Outbox) RenameFile(fa Area, from string, ta Area, to string, noReplace bool) error {
	src, err := o.filePath(fa, from)
	if err != nil {
		return err
	}
	dst, err := o.filePath(ta, to)
	if err != nil {
		return err
	}
	if isMessage(ta, to) {
		if err := o.validateFile(src); err != nil {
			return fmt.Errorf("outbox: %s: %w", to, err)
		}
	}
	o.filesMu.Lock()
	defer o.filesMu.Unlock()
	if isMessage(ta, to) {
		o.mu.Lock()
		taken := o.byName[to] != nil
		o.mu.Unlock()
		if taken {
			return fmt.Errorf("outbox: rename to %s: %w", to, ErrNameInUse)
		}
	}
	if noReplace {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("outbox: rename to %s/%s: %w", ta, to, fs.ErrExist)
		}
	}
	if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
		return notExist(from)
	}
	if err := atomicfile.Rename(src, dst); err != nil {
		return fmt.Errorf("outbox: rename %s/%s: %w", fa, from, err)
	}
	if isMessage(fa, from) {
		o.unhold(from)
	}
	if isMessage(ta, to) {
		o.hold(to)
		o.log.Info("outbox: message held for sending", "name", to, "from", fa.String()+"/"+from)
	}
	return nil
}

// validateFile checks that the message in the file at path can be sent.
func (o *Outbox) validateFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = o.validate(f, fi.Size())
	return err
}

// listFiles returns the names of the regular files in the spool directory
// d, sorted.
func listFiles(d string) ([]string, error) {
	ents, err := os.ReadDir(d)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
