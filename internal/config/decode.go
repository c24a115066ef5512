package config

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decodeTOML parses data into generic values. Only syntax errors come from
// here; types and unknown keys are checked by the table walker below, which
// knows each account's index (toml's own type errors inside [[accounts]]
// may give another account's line).
func decodeTOML(data []byte, name string) (map[string]any, error) {
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line, col := pe.Position.Line, pe.Position.Col
			if line < 1 {
				// The decoder reports line 0 for some errors at the end
				// of the input (found by FuzzParse): count from the
				// byte offset instead.
				line, col = position(data, pe.Position.Start)
			}
			return nil, &Error{Path: name, Line: line, Column: col, Msg: pe.Message}
		}
		return nil, &Error{Path: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	return root, nil
}

// position returns the 1-based line and column of byte offset off in data
// (clamped to data).
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	return line, off - bytes.LastIndexByte(before, '\n')
}

// problems collects every error found in one file.
type problems struct {
	file string
	list []error
}

// add records a problem with key (a full key path) and a message.
func (p *problems) add(key, format string, args ...any) {
	p.list = append(p.list, &Error{Path: p.file, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil, the single error, or all of them joined.
func (p *problems) err() error {
	switch len(p.list) {
	case 0:
		return nil
	case 1:
		return p.list[0]
	}
	return errors.Join(p.list...)
}

// table walks one TOML table, reporting wrong types as it goes and, in
// done, every key that was never asked for.
type table struct {
	m     map[string]any
	path  string          // key path of the table itself; "" at the root
	asked map[string]bool // keys the schema knows, present or not
	p     *problems
}

func newTable(m map[string]any, path string, p *problems) *table {
	return &table{m: m, path: path, asked: map[string]bool{}, p: p}
}

// key returns the full path of k in this table.
func (t *table) key(k string) string {
	if t.path == "" {
		return k
	}
	return t.path + "." + k
}

// get returns the raw value of k and whether it is present.
func (t *table) get(k string) (any, bool) {
	t.asked[k] = true
	v, ok := t.m[k]
	return v, ok
}

// mismatch reports that k holds a value of the wrong TOML type.
func (t *table) mismatch(k, want string, v any) {
	t.p.add(t.key(k), "want %s, got %s", want, describe(v))
}

// str returns the string at k; ok is false when absent or not a string.
func (t *table) str(k string) (s string, ok bool) {
	v, present := t.get(k)
	if !present {
		return "", false
	}
	s, ok = v.(string)
	if !ok {
		t.mismatch(k, "a string", v)
	}
	return s, ok
}

// integer returns the integer at k; ok is false when absent or not an integer.
func (t *table) integer(k string) (n int64, ok bool) {
	v, present := t.get(k)
	if !present {
		return 0, false
	}
	n, ok = v.(int64)
	if !ok {
		t.mismatch(k, "an integer", v)
	}
	return n, ok
}

// boolean returns the boolean at k; ok is false when absent or not a boolean.
func (t *table) boolean(k string) (b, ok bool) {
	v, present := t.get(k)
	if !present {
		return false, false
	}
	b, ok = v.(bool)
	if !ok {
		t.mismatch(k, "true or false", v)
	}
	return b, ok
}

// strs returns the array of strings at k (empty, not nil, for []); ok is
// false when absent or not an array of strings.
func (t *table) strs(k string) ([]string, bool) {
	v, present := t.get(k)
	if !present {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		t.mismatch(k, "an array of strings", v)
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			t.p.add(fmt.Sprintf("%s[%d]", t.key(k), i), "want a string, got %s", describe(e))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// duration returns the duration string at k, such as "90s" or "5m".
func (t *table) duration(k string) (time.Duration, bool) {
	v, present := t.get(k)
	if !present {
		return 0, false
	}
	s, ok := v.(string)
	if !ok {
		t.p.add(t.key(k), "want a duration string such as \"60s\" or \"5m\", got %s", describe(v))
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.p.add(t.key(k), "%q is not a duration such as \"60s\" or \"5m\"", s)
		return 0, false
	}
	return d, true
}

// sub returns the table at k, or nil when absent or not a table.
func (t *table) sub(k string) *table {
	v, present := t.get(k)
	if !present {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.mismatch(k, "a table", v)
		return nil
	}
	return newTable(m, t.key(k), t.p)
}

// tables returns the elements of the array of tables at k; each element's
// path is k[i]. ok is false when absent or of another type.
func (t *table) tables(k string) ([]*table, bool) {
	v, present := t.get(k)
	if !present {
		return nil, false
	}
	var maps []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		maps = v
	case []any: // accounts = [{...}, {...}]
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				t.p.add(fmt.Sprintf("%s[%d]", t.key(k), i), "want a table, got %s", describe(e))
				return nil, false
			}
			maps = append(maps, m)
		}
	default:
		t.p.add(t.key(k), "want an array of tables ([[%s]]), got %s", k, describe(v))
		return nil, false
	}
	out := make([]*table, len(maps))
	for i, m := range maps {
		out[i] = newTable(m, fmt.Sprintf("%s[%d]", t.key(k), i), t.p)
	}
	return out, true
}

// done reports every key of the table that the schema never asked for.
func (t *table) done() {
	var unknown []string
	for k := range t.m {
		if !t.asked[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		msg := "unknown key"
		if s := t.suggest(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		t.p.add(t.key(toml.Key{k}.String()), "%s", msg)
	}
}

// suggest returns the known key closest to k when it is a likely typo.
func (t *table) suggest(k string) string {
	best, bestDist := "", 3
	for known := range t.asked {
		if d := editDistance(strings.ToLower(k), known); d < bestDist || (d == bestDist && known < best) {
			best, bestDist = known, d
		}
	}
	if bestDist > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names a decoded TOML value's type. It never shows the value: the
// key might be password.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
