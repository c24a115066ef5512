package imap

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/remote"
)

var _ remote.Appender = (*Store)(nil)

// Append stores a message in mailbox with APPEND, with the given flags and
// internal date (zero: the server's clock), and returns where it went when
// the server has UIDPLUS (zero otherwise). body must yield exactly size
// bytes.
func (s *Store) Append(ctx context.Context, mailbox string, flags []string, date time.Time, body io.Reader, size int64) (remote.Placed, error) {
	var placed remote.Placed
	err := s.do(ctx, "APPEND", mailbox, func(cn *conn, called *bool) error {
		opts := &imap.AppendOptions{Time: date}
		for _, f := range flags {
			opts.Flags = append(opts.Flags, imap.Flag(f))
		}
		cmd := cn.client.Append(mailbox, size, opts)
		// Once body has been read from, the command cannot be retried.
		n, err := io.Copy(cmd, &markRead{r: body, read: called})
		if err == nil && n != size {
			err = &callbackError{fmt.Errorf("append to %q: message is %d bytes, announced %d", mailbox, n, size)}
		}
		if err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		placed = remote.Placed{UIDValidity: data.UIDValidity, UID: uint32(data.UID)}
		return nil
	})
	return placed, err
}

// markRead sets *read once anything has been read through it.
type markRead struct {
	r    io.Reader
	read *bool
}

func (m *markRead) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		*m.read = true
	}
	return n, err
}
