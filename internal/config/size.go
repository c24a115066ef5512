package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a unit, lower-cased, to its number of bytes: KB, MB, GB and
// TB are powers of 1000, KiB, MiB, GiB and TiB powers of 1024.
var sizeUnits = map[string]float64{
	"":    1,
	"b":   1,
	"kb":  1e3,
	"mb":  1e6,
	"gb":  1e9,
	"tb":  1e12,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// ParseSize parses a size such as "2GiB", "500 MB", "1.5GiB" or "4096" into
// bytes. The number may have a fraction (the result is rounded down to a
// whole byte); the unit, which may follow a space and is matched without
// regard to case, is one of B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
// GiB, TiB (powers of 1024); no unit means bytes. Negative sizes are refused.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size such as \"2GiB\", \"500MB\" or a number of bytes (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as \"2GiB\": bad number %q", s, num)
	}
	bytes := math.Floor(f * mult)
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(bytes), nil
}
