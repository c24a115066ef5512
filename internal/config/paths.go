package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultPath returns where the config file lives when no -config is given:
// $XDG_CONFIG_HOME/mailfs/config.toml, or ~/.config/mailfs/config.toml when
// XDG_CONFIG_HOME is unset or not absolute.
func DefaultPath() (string, error) {
	dir, err := xdgDir("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return "", fmt.Errorf("find config file: %w", err)
	}
	return filepath.Join(dir, "mailfs", "config.toml"), nil
}

// CacheDir returns the cache directory: c.Cache.Dir when set, otherwise
// $XDG_CACHE_HOME/mailfs, or ~/.cache/mailfs when XDG_CACHE_HOME is unset
// or not absolute. It does not create the directory; callers create it 0700.
func CacheDir(c *Config) (string, error) {
	if c != nil && c.Cache.Dir != "" {
		return c.Cache.Dir, nil
	}
	dir, err := xdgDir("XDG_CACHE_HOME", ".cache")
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	return filepath.Join(dir, "mailfs"), nil
}

// DataDir returns the directory of durable data, the POP3 store and the
// outbox spool: $XDG_DATA_HOME/mailfs, or ~/.local/share/mailfs when
// XDG_DATA_HOME is unset or not absolute. It does not create the directory;
// callers create it 0700.
func DataDir() (string, error) {
	dir, err := xdgDir("XDG_DATA_HOME", filepath.Join(".local", "share"))
	if err != nil {
		return "", fmt.Errorf("find data directory: %w", err)
	}
	return filepath.Join(dir, "mailfs"), nil
}

// xdgDir returns $env when it is an absolute path (the XDG Base Directory
// specification says to ignore relative ones), else ~/fallback.
func xdgDir(env, fallback string) (string, error) {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return filepath.Clean(d), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%s is not set and %w", env, err)
	}
	return filepath.Join(home, fallback), nil
}

// expandHome replaces a leading "~" or "~/" in path with the home directory.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", path, err)
	}
	return filepath.Join(home, path[1:]), nil
}
