package mountinfo

import (
	"slices"
	"testing"
)

func TestParseAt(t *testing.T) {
	table := []byte(`22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
97 22 0:50 / /tmp/a\040b\134c rw,nosuid,nodev - fuse.mailfs mailfs rw,user_id=0
98 22 0:51 / /tmp/plain rw - fuse.mailfs mailfs rw
99 98 0:52 / /tmp/plain rw shared:3 master:1 - tmpfs none rw
`)
	for dir, want := range map[string][]Mount{
		"/proc":        {{Point: "/proc", FSType: "proc", Source: "proc"}},
		`/tmp/a b\c`:   {{Point: `/tmp/a b\c`, FSType: "fuse.mailfs", Source: "mailfs"}},
		"/tmp/plain":   {{Point: "/tmp/plain", FSType: "fuse.mailfs", Source: "mailfs"}, {Point: "/tmp/plain", FSType: "tmpfs", Source: "none"}},
		"/tmp/a":       nil,
		"/tmp/plain/x": nil,
	} {
		if got := parseAt(table, dir); !slices.Equal(got, want) {
			t.Errorf("parseAt(%q): got %+v, want %+v", dir, got, want)
		}
	}
	if !(Mount{FSType: "fuse.mailfs"}).FUSE() || (Mount{FSType: "tmpfs"}).FUSE() || !(Mount{FSType: "fuse"}).FUSE() {
		t.Error("FUSE: wrong answer for fuse.mailfs, tmpfs or fuse")
	}
}

func TestMountedRoot(t *testing.T) {
	got, err := Mounted("/")
	if err != nil || !got {
		t.Errorf(`Mounted("/"): got %v, %v; want true`, got, err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`: "/tmp/a b",
		`/plain`:      "/plain",
		`/x\134y`:     `/x\y`,
		`/end\04`:     `/end\04`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q): got %q, want %q", in, got, want)
		}
	}
}
