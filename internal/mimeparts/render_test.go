package mimeparts_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
)

// render is a part tree as text, one line per part, for golden files and
// failure messages.
func render(root remote.Part) string {
	var b strings.Builder
	mimepartstest.Walk(root, func(p remote.Part) {
		fmt.Fprintf(&b, "%-8q %s/%s enc=%q size=%d disp=%q filename=%q params=", p.Section, p.Type, p.Subtype, p.Encoding, p.Size, p.Disposition, p.Filename)
		for i, k := range slices.Sorted(maps.Keys(p.Params)) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s=%q", k, p.Params[k])
		}
		b.WriteString("\n")
	})
	return b.String()
}
