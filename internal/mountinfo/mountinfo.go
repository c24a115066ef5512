// Package mountinfo reads the kernel's mount table of this process's mount
// namespace (/proc/self/mountinfo), for code that must know what is
// mounted where: mailfs clearing dead mounts before it mounts, tests that
// check a mount is gone, the benchmark that refuses to delete a tree with
// a live mount in it.
package mountinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Mount is one entry of the mount table.
type Mount struct {
	// Point is the mountpoint, unescaped.
	Point string
	// FSType is the filesystem type, such as "fuse.mailfs" or "tmpfs".
	FSType string
	// Source is the mount source, such as "mailfs".
	Source string
}

// FUSE reports whether the mount is a FUSE filesystem.
func (m Mount) FUSE() bool {
	return m.FSType == "fuse" || strings.HasPrefix(m.FSType, "fuse.") || m.FSType == "fuseblk"
}

// At returns the mounts stacked on dir (an absolute, clean path), the
// first mounted first and the one in use last; none when nothing is
// mounted there.
func At(dir string) ([]Mount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return parseAt(data, dir), nil
}

// Mounted reports whether dir (an absolute, clean path) is a mountpoint in
// this mount namespace.
func Mounted(dir string) (bool, error) {
	ms, err := At(dir)
	return len(ms) > 0, err
}

// parseAt returns the mounts of table (in the format of
// /proc/self/mountinfo) whose mountpoint is dir, in table order (which is
// mount order).
func parseAt(table []byte, dir string) []Mount {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || unescape(fields[4]) != dir {
			continue
		}
		m := Mount{Point: dir}
		for i, f := range fields[5:] {
			if f == "-" {
				rest := fields[5+i+1:]
				if len(rest) > 0 {
					m.FSType = rest[0]
				}
				if len(rest) > 1 {
					m.Source = unescape(rest[1])
				}
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// unescape undoes the octal escapes of mountinfo fields (\040 for a space,
// \011 tab, \012 newline, \134 backslash).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
