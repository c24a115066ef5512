package remote

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalizeFlags(t *testing.T) {
	tests := []struct {
		in   []string
		want []string // nil with bad set
		bad  bool
	}{
		{in: nil, want: []string{}},
		{in: []string{""}, want: []string{}},
		{in: []string{`\Seen`, `\Flagged`, `$Label1`}, want: []string{`$Label1`, `\Flagged`, `\Seen`}},
		{in: []string{`\seen`, `\SEEN`, `\Answered`}, want: []string{`\Answered`, `\Seen`}},
		{in: []string{`Junk`, `junk`, `$Forwarded`}, want: []string{`$Forwarded`, `Junk`}},
		{in: []string{`\Draft`, `\Deleted`}, want: []string{`\Deleted`, `\Draft`}},
		{in: []string{`\Recent`}, bad: true},
		{in: []string{`\Important`}, bad: true},
		{in: []string{`a(b`}, bad: true},
		{in: []string{`a]`}, bad: true},
		{in: []string{`a b`}, bad: true},
		{in: []string{`ä`}, bad: true},
		{in: []string{"a\x00"}, bad: true},
		{in: []string{`%`}, bad: true},
		{in: []string{`a"`}, bad: true},
		{in: []string{`a\b`}, bad: true},
	}
	for _, tt := range tests {
		got, err := NormalizeFlags(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeFlags(%q): got %q, %v; want an error wrapping ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("NormalizeFlags(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
