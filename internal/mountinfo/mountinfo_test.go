package mountinfo

import "testing"

func TestMountedIn(t *testing.T) {
	table := []byte(`22 1 0:21 / /proc rw,nosuid - proc proc rw
97 22 0:50 / /tmp/a\040b\134c rw,nosuid,nodev - fuse.mailfs mailfs rw,user_id=0
98 22 0:51 / /tmp/plain rw - fuse.mailfs mailfs rw
`)
	for dir, want := range map[string]bool{
		"/proc":        true,
		`/tmp/a b\c`:   true,
		"/tmp/plain":   true,
		"/tmp/a":       false,
		"/tmp/plain/x": false,
		"/":            false,
	} {
		if got := mountedIn(table, dir); got != want {
			t.Errorf("mountedIn(%q): got %v, want %v", dir, got, want)
		}
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
