package mimeparts

import (
	"fmt"
	"strconv"
	"strings"

	"mailfs/remote"
)

// ParseSection splits an IMAP section (RFC 3501 §6.4.5, without MIME)
// into its part numbers and its specifier: "" (the whole message, or the
// whole body of a part), "HEADER" or "TEXT" (of the message, or of the
// message/rfc822 part the numbers name). "1.2" is [1 2] and "",
// "2.TEXT" is [2] and "TEXT", "HEADER" is [] and "HEADER". A section that
// is none of these fails with an error wrapping remote.ErrInvalid.
func ParseSection(section string) (parts []int, spec string, err error) {
	if section == "" {
		return nil, "", nil
	}
	fields := strings.Split(section, ".")
	for i, f := range fields {
		if u := strings.ToUpper(f); u == "HEADER" || u == "TEXT" {
			if i != len(fields)-1 {
				break
			}
			return parts, u, nil
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || f[0] == '+' || f[0] == '0' || len(f) > 9 {
			break
		}
		parts = append(parts, n)
		if i == len(fields)-1 {
			return parts, "", nil
		}
	}
	return nil, "", fmt.Errorf("section %q: %w", section, remote.ErrInvalid)
}
