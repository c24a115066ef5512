package pop3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"mailfs/remote"
)

// maxHeader is the most of a message's header the fallback key reads.
const maxHeader = 256 << 10

// keyFields are the header fields that identify a message for the
// fallback key, in the order they are hashed.
var keyFields = []string{"message-id", "date", "from", "to", "subject"}

// fallbackUIDs fills in msgs[i].UID for a server without UIDL: "hdr-" and
// the hex SHA-256 of the identifying header fields and the LIST size, with
// "-2", "-3"… appended to keys that repeat within the listing.
func (s *session) fallbackUIDs(ctx context.Context, msgs []remote.DropMessage) error {
	seen := map[string]int{}
	noTop := false
	for i := range msgs {
		var h headerCollector
		n := strconv.Itoa(msgs[i].Number)
		var err error
		if !noTop {
			op := "TOP " + n + " 0"
			refused := false
			err = s.do(ctx, op, "", func() error {
				if _, err := s.cn.multi(op); err != nil {
					var se *serverError
					if errors.As(err, &se) {
						refused = true
						return nil
					}
					return err
				}
				_, err := s.cn.readBody(&h)
				return err
			})
			if refused {
				noTop = true
				s.c.log.Info("pop3 server has neither UIDL nor TOP: reading whole messages to identify them")
			}
		}
		if err == nil && noTop {
			_, err = s.Retrieve(ctx, msgs[i].Number, &h)
		}
		if err != nil {
			return err
		}
		key := fallbackKey(h.header(), msgs[i].Size)
		seen[key]++
		if c := seen[key]; c > 1 {
			key += "-" + strconv.Itoa(c)
		}
		msgs[i].UID = key
	}
	return nil
}

// fallbackKey returns "hdr-" and the hex SHA-256 of the identifying fields
// of header (each the first of its name, unfolded, surrounding whitespace
// trimmed) and size.
func fallbackKey(header []byte, size int64) string {
	fields := identifyingFields(header)
	h := sha256.New()
	for _, name := range keyFields {
		h.Write([]byte(name))
		h.Write([]byte{':'})
		h.Write(fields[name])
		h.Write([]byte{'\n'})
	}
	h.Write([]byte("size:" + strconv.FormatInt(size, 10) + "\n"))
	return "hdr-" + hex.EncodeToString(h.Sum(nil))
}

// identifyingFields returns the first value of each key field in header,
// by lower-case name.
func identifyingFields(header []byte) map[string][]byte {
	out := map[string][]byte{}
	var name string
	var value []byte
	flush := func() {
		if name != "" {
			if _, ok := out[name]; !ok {
				out[name] = bytes.TrimSpace(value)
			}
		}
		name, value = "", nil
	}
	for _, line := range bytes.Split(header, []byte{'\n'}) {
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if name != "" {
				value = append(value, line...) // unfold
			}
			continue
		}
		flush()
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		n := string(bytes.ToLower(bytes.TrimSpace(line[:colon])))
		for _, k := range keyFields {
			if n == k {
				name = n
				value = append([]byte(nil), line[colon+1:]...)
			}
		}
	}
	flush()
	return out
}

// headerCollector keeps the header of the message written to it (up to
// the first empty line, at most maxHeader bytes) and discards the rest.
type headerCollector struct {
	buf  []byte
	done bool
}

func (h *headerCollector) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	from := max(len(h.buf)-3, 0)
	h.buf = append(h.buf, p[:min(len(p), maxHeader-len(h.buf))]...)
	if end := headerEnd(h.buf, from); end >= 0 {
		h.buf, h.done = h.buf[:end], true
	} else if len(h.buf) >= maxHeader {
		h.done = true
	}
	return len(p), nil
}

// header returns the collected header.
func (h *headerCollector) header() []byte { return h.buf }

// headerEnd returns the length of the header in b (up to and including the
// line break before the empty line) searching from index from, or -1 when b
// has no empty line yet.
func headerEnd(b []byte, from int) int {
	if len(b) > 0 && from == 0 && (b[0] == '\n' || bytes.HasPrefix(b, []byte("\r\n"))) {
		return 0 // no header at all
	}
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		rest := b[i+1:]
		if bytes.HasPrefix(rest, []byte("\n")) || bytes.HasPrefix(rest, []byte("\r\n")) {
			return i + 1
		}
	}
	return -1
}
