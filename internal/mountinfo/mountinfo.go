// Package mountinfo reads the kernel's mount table of this process's mount
// namespace (/proc/self/mountinfo), for code that must know what is
// mounted where: tests that check a mount is gone, the benchmark that
// refuses to delete a tree with a live mount in it.
package mountinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Mounted reports whether dir (an absolute, clean path) is a mountpoint in
// this mount namespace.
func Mounted(dir string) (bool, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read the mount table: %w", err)
	}
	return mountedIn(data, dir), nil
}

// mountedIn reports whether dir is the mountpoint of a line of table, in
// the format of /proc/self/mountinfo.
func mountedIn(table []byte, dir string) bool {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ...
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescape(fields[4]) == dir {
			return true
		}
	}
	return false
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
