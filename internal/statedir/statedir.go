// Package statedir keeps the directories mailfs stores state in private
// to the user: the cache, the POP3 stores and the outbox spool, whose
// messages are sent through the user's own SMTP accounts. Another local
// user who could write there could plant a message to be sent as the user,
// or mail to be shown as theirs.
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// Private makes dir a directory only the user can use: it is created
// (with its missing parents) 0700; an existing one must be a directory
// owned by the user, and is tightened to 0700 when others may read, enter
// or write it, with a warning. One owned by someone else is refused: what
// is in it may not be the user's. what names the directory in messages
// ("outbox spool").
func Private(dir, what string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s is not a directory (a symbolic link or a file is in its place): move it away", what, dir)
	}
	if err := owned(dir, fi, what); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		if perm&0o077 != 0 {
			log.Warn("state directory was open to other users; made private", "what", what, "dir", dir, "was", perm.String())
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s %s is %v and cannot be made private (%v): fix its permissions (chmod 700)", what, dir, perm, err)
		}
	}
	return nil
}

// OwnedTree checks that everything under dir belongs to the user and that
// no directory in it lets others write, so that nothing in it can have
// been put there by someone else. Use it for small trees whose content
// mailfs acts on (the outbox spool); big ones (the cache) rely on Private
// of their top directory.
func OwnedTree(dir, what string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := owned(path, fi, what); err != nil {
			return err
		}
		if fi.IsDir() && fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s: %s can be written by other users (%v): make it private (chmod 700) after checking what is in it", what, path, fi.Mode().Perm())
		}
		return nil
	})
}

// owned fails unless fi, the information of path, says the user owns it.
func owned(path string, fi fs.FileInfo, what string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("%s: %s is owned by uid %d, not by you (uid %d): someone else may have put it there; check it, move it away and start again", what, path, st.Uid, uid)
	}
	return nil
}
