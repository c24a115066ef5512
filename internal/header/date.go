package header

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Date returns the Date: field parsed (net/mail.ParseDate), in the zone it
// names: a numeric offset, or one of RFC 5322's obsolete names (UT, GMT, EST,
// EDT, CST, CDT, MST, MDT, PST, PDT); any other name is read as +0000. The
// result never depends on the local time zone. It returns an error when the
// field is missing, unparseable, or the year is outside 1000..9999.
func (h *Header) Date() (time.Time, error) {
	v := clean(h.Get("Date"))
	if v == "" {
		return time.Time{}, errors.New("no Date field")
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: %w", v, err)
	}
	if y := t.Year(); y < 1000 || y > 9999 {
		return time.Time{}, fmt.Errorf("date %q: year %d is outside 1000..9999", v, y)
	}
	return inNamedZone(t, v), nil
}

// inNamedZone returns t, which net/mail parsed from v, in the zone v names.
// net/mail gives a zone name the offset the local zone knows for it, or
// +0000: the wall clock is right, the offset is not to be trusted.
func inNamedZone(t time.Time, v string) time.Time {
	zone := zoneOf(v)
	if zone != "" && (zone[0] == '+' || zone[0] == '-') {
		_, off := t.Zone() // from the digits
		return t.In(time.FixedZone("", off))
	}
	off := obsZoneOffset(strings.ToUpper(zone))
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone(zone, off))
}

// zoneOf returns the last word of a date, comments dropped.
func zoneOf(v string) string {
	for {
		v = strings.TrimSpace(v)
		if !strings.HasSuffix(v, ")") {
			break
		}
		i := strings.LastIndexByte(v, '(')
		if i < 0 {
			break
		}
		v = v[:i]
	}
	return v[strings.LastIndexAny(v, " \t")+1:]
}

// obsZoneOffset returns the offset in seconds of an obsolete zone name of
// RFC 5322 section 4.3; 0 for any other.
func obsZoneOffset(zone string) int {
	hours := 0
	switch zone {
	case "EDT":
		hours = -4
	case "EST", "CDT":
		hours = -5
	case "CST", "MDT":
		hours = -6
	case "MST", "PDT":
		hours = -7
	case "PST":
		hours = -8
	}
	return hours * 3600
}
