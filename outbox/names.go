package outbox

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// maxNameBytes is the longest file name (NAME_MAX); NAME.error must fit too.
const maxNameBytes = 255 - len(".error")

// errorSuffix names the file beside a failed message that says why.
const errorSuffix = ".error"

// checkName rejects names that cannot be a message file in outbox/.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", name == failedDir:
		return fmt.Errorf("%w: %q", ErrBadName, name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%w: %q contains '/' or NUL", ErrBadName, name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrBadName, name, maxNameBytes)
	}
	return nil
}

// nameTaken reports whether name would clash with a queued or failed
// message: the same name, or NAME.error of one, or one whose NAME.error is
// name. o.mu must be held.
func (o *Outbox) nameTaken(name string) bool {
	if o.byName[name] != nil || o.byName[name+errorSuffix] != nil {
		return true
	}
	if base, ok := strings.CutSuffix(name, errorSuffix); ok && o.byName[base] != nil {
		return true
	}
	return false
}

// fileExists reports whether outbox/ has a file (a held message or a side
// file) called name.
func (o *Outbox) fileExists(name string) bool {
	_, err := os.Lstat(o.path(filesDir, name))
	return err == nil
}

// uniqueName returns name, or name with a suffix before its extension
// ("msg.eml" -> "msg-2.eml", "msg-3.eml", ...) when name is taken by a
// queued or failed message or, unless replaceHeld, by a file in outbox/
// (a suffix is never the name of such a file). o.mu must be held.
func (o *Outbox) uniqueName(name string, replaceHeld bool) string {
	if !o.nameTaken(name) && (replaceHeld || !o.fileExists(name)) {
		return name
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	if base == "" { // ".eml": a hidden file, not an extension
		base, ext = name, ""
	}
	for n := 2; ; n++ {
		suffix := "-" + strconv.Itoa(n)
		b := base
		if over := len(b) + len(suffix) + len(ext) - maxNameBytes; over > 0 {
			b = truncUTF8(b, len(b)-over)
		}
		cand := b + suffix + ext
		if !o.nameTaken(cand) && !o.fileExists(cand) {
			return cand
		}
	}
}

// truncUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
