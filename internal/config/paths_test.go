package config

import (
	"path/filepath"
	"testing"
)

func TestPaths(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct {
		name                string
		config, cache, data string // XDG_*_HOME values
		wantConfig          string
		wantCache           string
		wantData            string
	}{
		{"xdg set", "/x/conf", "/x/cache", "/x/data", "/x/conf/mailfs/config.toml", "/x/cache/mailfs", "/x/data/mailfs"},
		{"xdg unset", "", "", "", filepath.Join(home, ".config/mailfs/config.toml"), filepath.Join(home, ".cache/mailfs"), filepath.Join(home, ".local/share/mailfs")},
		{"xdg relative is ignored", "conf", "cache", "data", filepath.Join(home, ".config/mailfs/config.toml"), filepath.Join(home, ".cache/mailfs"), filepath.Join(home, ".local/share/mailfs")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", tc.config)
			t.Setenv("XDG_CACHE_HOME", tc.cache)
			t.Setenv("XDG_DATA_HOME", tc.data)
			if got, err := DefaultPath(); err != nil || got != tc.wantConfig {
				t.Errorf("DefaultPath: got %q, %v, want %q", got, err, tc.wantConfig)
			}
			if got, err := CacheDir(&Config{}); err != nil || got != tc.wantCache {
				t.Errorf("CacheDir: got %q, %v, want %q", got, err, tc.wantCache)
			}
			if got, err := DataDir(); err != nil || got != tc.wantData {
				t.Errorf("DataDir: got %q, %v, want %q", got, err, tc.wantData)
			}
		})
	}
	t.Run("cache.dir wins", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "/x/cache")
		if got, err := CacheDir(&Config{Cache: CacheConfig{Dir: "/srv/mailcache"}}); err != nil || got != "/srv/mailcache" {
			t.Errorf("CacheDir: got %q, %v, want /srv/mailcache", got, err)
		}
	})
	t.Run("no home", func(t *testing.T) {
		t.Setenv("HOME", "")
		t.Setenv("XDG_DATA_HOME", "")
		if got, err := DataDir(); err == nil {
			t.Errorf("DataDir without HOME: got %q, want an error", got)
		}
	})
}
