package pop3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"mailfs/internal/header"
	"mailfs/remote"
)

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
		var h header.Collector
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
		key := fallbackKey(h.Bytes(), msgs[i].Size)
		seen[key]++
		if c := seen[key]; c > 1 {
			key += "-" + strconv.Itoa(c)
		}
		msgs[i].UID = key
	}
	return nil
}

// fallbackKey returns "hdr-" and the hex SHA-256 of the identifying fields
// of the header block hb (each the first of its name, as header.Get reads
// it) and size. Stores on disk hold these keys: the rule must not change.
func fallbackKey(hb []byte, size int64) string {
	fields := header.Parse(hb)
	h := sha256.New()
	for _, name := range keyFields {
		h.Write([]byte(name))
		h.Write([]byte{':'})
		h.Write([]byte(fields.Get(name)))
		h.Write([]byte{'\n'})
	}
	h.Write([]byte("size:" + strconv.FormatInt(size, 10) + "\n"))
	return "hdr-" + hex.EncodeToString(h.Sum(nil))
}
