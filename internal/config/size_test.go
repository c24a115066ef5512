package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"2GiB", 2 << 30},
		{"2gib", 2 << 30},
		{"500 MB", 500_000_000},
		{"1.5GiB", 3 << 29},
		{"4096", 4096},
		{"10B", 10},
		{"1KB", 1000},
		{"1KiB", 1024},
		{"3MiB", 3 << 20},
		{"1TB", 1e12},
		{"1TiB", 1 << 40},
		{" 7 kib ", 7168},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q): got %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "GiB", "-1GiB", "2 GiBs", "1.2.3MB", "1e3", "9999999TiB", "2 G"} {
		if got, err := ParseSize(in); err == nil || !strings.Contains(err.Error(), in) && in != "" {
			t.Errorf("ParseSize(%q): got %d, %v, want an error quoting the input", in, got, err)
		}
	}
}
