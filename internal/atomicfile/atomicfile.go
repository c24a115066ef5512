// Package atomicfile replaces files and moves directory entries so that a
// crash leaves either the old state or the new one, never a torn file, and
// so that a change is durable once the call returns: the data is fsync'ed
// before the rename and the directories after it. The POP3 store and the
// outbox spool use it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: it writes path+".tmp" (created with
// perm, truncated if it exists), fsyncs it, renames it to path and fsyncs
// the directory. A crash may leave path+".tmp" behind, for the caller's
// recovery to delete. Calls for the same path must not overlap.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	return Commit(f, path)
}

// Commit makes f, a temporary file written in path's directory, the file
// at path: it fsyncs and closes f, renames it to path and fsyncs the
// directory. Once it returns nil the file survives a crash under its new
// name. On error f is closed and, unless the rename was done, removed.
func Commit(f *os.File, path string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Rename renames oldpath to newpath, a file or a directory, and fsyncs the
// directory of newpath, then that of oldpath when it is another one.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	newDir, oldDir := filepath.Dir(newpath), filepath.Dir(oldpath)
	if err := SyncDir(newDir); err != nil {
		return err
	}
	if oldDir == newDir {
		return nil
	}
	return SyncDir(oldDir)
}

// SyncDir fsyncs the directory dir, making its entries (creations,
// renames, removals) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
