package mimeparts_test

import (
	"errors"
	"reflect"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

func TestParseSection(t *testing.T) {
	for _, tt := range []struct {
		in    string
		parts []int
		spec  string
	}{
		{"", nil, ""},
		{"1", []int{1}, ""},
		{"1.2.30", []int{1, 2, 30}, ""},
		{"HEADER", nil, "HEADER"},
		{"TEXT", nil, "TEXT"},
		{"2.TEXT", []int{2}, "TEXT"},
		{"2.3.header", []int{2, 3}, "HEADER"},
	} {
		parts, spec, err := mimeparts.ParseSection(tt.in)
		if err != nil || !reflect.DeepEqual(parts, tt.parts) || spec != tt.spec {
			t.Errorf("ParseSection(%q) = %v, %q, %v; want %v, %q", tt.in, parts, spec, err, tt.parts, tt.spec)
		}
	}
	for _, in := range []string{"0", "01", "-1", "+1", "1.", ".1", "1..2", "x", "1.MIME", "MIME", "HEADER.1", "TEXT.TEXT", "1 ", "9999999999", "HEADER.FIELDS"} {
		if _, _, err := mimeparts.ParseSection(in); !errors.Is(err, remote.ErrInvalid) {
			t.Errorf("ParseSection(%q): got %v, want ErrInvalid", in, err)
		}
	}
}
