package cache

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The database's file lock keeps a second mailfs out; the pid file only
// names the holder in the error the second one reports.

const pidFile = "mailfs.pid"

func writeLockHolder(dir string, log *slog.Logger) {
	p := filepath.Join(dir, pidFile)
	if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		log.Warn("cannot write cache pid file", "path", p, "err", err)
	}
}

func removeLockHolder(dir string) {
	os.Remove(filepath.Join(dir, pidFile))
}

// lockHolder describes the process holding the cache, for an error message.
func lockHolder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return "pid unknown"
	}
	return "pid " + strings.TrimSpace(string(b))
}

// checkOwner refuses a cache directory owned by another user: its files
// could be read or replaced by that user.
func checkOwner(dir string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("cache directory %s is owned by uid %d, not by you (uid %d): choose another cache dir", dir, st.Uid, uid)
	}
	return nil
}
