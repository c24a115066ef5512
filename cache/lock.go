package cache

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
