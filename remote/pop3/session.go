package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	gopop3 "github.com/knadh/go-pop3"

	"mailfs/remote"
)

// session is one logged-in POP3 session; it implements remote.DropSession.
// It is not safe for concurrent use; cancelling the ctx of a running call
// aborts it.
type session struct {
	c     *Client
	cn    *conn
	caps  []string      // CAPA before login; nil when the server lacks CAPA
	sizes map[int]int64 // LIST sizes by message number, from List or LIST n

	deleted  int  // DELE commands accepted
	loggedIn bool // login succeeded: failures are logged by do
	done     bool // Quit or Close called
}

var _ remote.DropSession = (*session)(nil)

// do runs one command exchange fn under ctx and maps its error. An -ERR
// leaves the connection usable; any other failure breaks it.
func (s *session) do(ctx context.Context, op, secret string, fn func() error) error {
	if s.done {
		return s.c.newErr(op, remote.ErrUnavailable, "session already ended", "", nil)
	}
	if s.cn.broken != nil {
		return s.c.newErr(op, remote.ErrUnavailable, "connection already failed", "connect again", nil)
	}
	if err := ctx.Err(); err != nil {
		return s.c.newErr(op, nil, "", "", err)
	}
	stop := s.cn.watch(ctx)
	err := fn()
	killed := stop()
	if killed != nil {
		s.cn.fail(killed)
		if err == nil {
			return nil // finished before the connection was closed
		}
	}
	if err == nil {
		return nil
	}
	var se *serverError
	if killed != nil || !errors.As(err, &se) {
		s.cn.fail(err)
	}
	mapped := s.c.mapErr(op, err, killed, secret)
	if killed == nil && s.loggedIn {
		s.c.log.Warn("pop3 command failed", "op", op, "err", mapped)
	}
	return mapped
}

// capa returns the CAPA lines, or nil when the server answers -ERR.
func (s *session) capa(ctx context.Context) ([]string, error) {
	var caps []string
	var refused bool
	err := s.do(ctx, "CAPA", "", func() error {
		if _, err := s.cn.multi("CAPA"); err != nil {
			var se *serverError
			if errors.As(err, &se) {
				refused = true
				return nil
			}
			return err
		}
		caps = []string{}
		return s.cn.readMulti(func(line []byte) error {
			caps = append(caps, printable(line))
			return nil
		})
	})
	if err != nil || refused {
		return nil, err
	}
	return caps, nil
}

// stat returns the message count and total size.
func (s *session) stat(ctx context.Context) (count int, size int64, err error) {
	err = s.do(ctx, "STAT", "", func() error {
		text, err := s.cn.simple("STAT")
		if err != nil {
			return err
		}
		var f []int64
		if f, err = numbers(text, 2); err != nil {
			return err
		}
		count, size = int(f[0]), f[1]
		return nil
	})
	return count, size, err
}

// List returns every message with its UID and LIST size, in message number
// order. UIDs come from UIDL, or from the header fallback when the server
// refuses UIDL.
func (s *session) List(ctx context.Context) ([]remote.DropMessage, error) {
	sizes := map[int]int64{}
	err := s.do(ctx, "LIST", "", func() error {
		if _, err := s.cn.multi("LIST"); err != nil {
			return err
		}
		return s.cn.readMulti(func(line []byte) error {
			f, err := numbers(string(line), 2)
			if err != nil {
				return err
			}
			if f[0] < 1 || f[0] > 1<<31-1 {
				return &protocolError{msg: fmt.Sprintf("bad message number in LIST line %q", clip(line, 80))}
			}
			if _, dup := sizes[int(f[0])]; dup {
				return &protocolError{msg: fmt.Sprintf("message %d listed twice", f[0])}
			}
			sizes[int(f[0])] = f[1]
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	s.sizes = sizes
	msgs := make([]remote.DropMessage, 0, len(sizes))
	for n, size := range sizes {
		msgs = append(msgs, remote.DropMessage{Number: n, Size: size})
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Number < msgs[j].Number })

	uids, ok, err := s.uidl(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.fallbackUIDs(ctx, msgs); err != nil {
			return nil, err
		}
		return msgs, nil
	}
	for i := range msgs {
		uid, found := uids[msgs[i].Number]
		if !found {
			return nil, s.c.newErr("UIDL", remote.ErrUnavailable,
				fmt.Sprintf("message %d is in LIST but not in UIDL", msgs[i].Number), "", nil)
		}
		msgs[i].UID = uid
	}
	return msgs, nil
}

// uidl returns the UIDL listing by message number; ok is false when the
// server answers -ERR (no UIDL support).
func (s *session) uidl(ctx context.Context) (uids map[int]string, ok bool, err error) {
	uids = map[int]string{}
	seen := map[string]int{}
	var refused bool
	err = s.do(ctx, "UIDL", "", func() error {
		if _, err := s.cn.multi("UIDL"); err != nil {
			var se *serverError
			if errors.As(err, &se) {
				refused = true
				return nil
			}
			return err
		}
		return s.cn.readMulti(func(line []byte) error {
			n, uid, err := parseUIDL(line)
			if err != nil {
				return err
			}
			if prev, dup := seen[uid]; dup {
				return &protocolError{msg: fmt.Sprintf("messages %d and %d have the same UIDL %q", prev, n, uid)}
			}
			seen[uid] = n
			uids[n] = uid
			return nil
		})
	})
	if err != nil {
		return nil, false, err
	}
	return uids, !refused, nil
}

// parseUIDL parses "n uid"; RFC 1939 limits uid to 1-70 characters in
// 0x21-0x7E.
func parseUIDL(line []byte) (int, string, error) {
	bad := &protocolError{msg: fmt.Sprintf("bad UIDL line %q", clip(line, 80))}
	var f []string
	start := -1
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == ' ' || line[i] == '\t' {
			if start >= 0 {
				f = append(f, string(line[start:i]))
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if len(f) != 2 {
		return 0, "", bad
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return 0, "", bad
	}
	// Longer than the RFC's 70 characters is harmless and accepted.
	for _, b := range []byte(f[1]) {
		if b < 0x21 || b > 0x7e {
			return 0, "", bad
		}
	}
	return n, f[1], nil
}

// Retrieve streams message n into w, byte for byte: dot-unstuffed, line
// endings as the server sent them. On error what was written is incomplete.
func (s *session) Retrieve(ctx context.Context, n int, w io.Writer) (int64, error) {
	if n < 1 {
		return 0, s.c.newErr("RETR "+strconv.Itoa(n), remote.ErrRefused, "message numbers start at 1", "", nil)
	}
	listed, err := s.size(ctx, n)
	if err != nil {
		return 0, err
	}
	op := "RETR " + strconv.Itoa(n)
	tw := &tailWriter{w: w}
	err = s.do(ctx, op, "", func() error {
		if _, err := s.cn.multi(op); err != nil {
			return err
		}
		got, err := s.cn.readBody(tw)
		if err != nil {
			return err
		}
		if err := tw.finish(endsWithAddedCRLF(got, listed)); err != nil {
			return &writeError{err: err}
		}
		return nil
	})
	if err != nil {
		return tw.n, err
	}
	if tw.n != listed {
		s.c.log.Debug("pop3 message size differs from LIST", "msg", n, "list", listed, "got", tw.n)
	}
	return tw.n, nil
}

// size returns the LIST size of message n, asking the server when List
// has not been called.
func (s *session) size(ctx context.Context, n int) (int64, error) {
	if size, ok := s.sizes[n]; ok {
		return size, nil
	}
	op := "LIST " + strconv.Itoa(n)
	var size int64
	err := s.do(ctx, op, "", func() error {
		text, err := s.cn.simple(op)
		if err != nil {
			return err
		}
		f, err := numbers(text, 2)
		if err != nil {
			return err
		}
		if f[0] != int64(n) {
			return &protocolError{msg: fmt.Sprintf("%s answered for message %d", op, f[0])}
		}
		size = f[1]
		return nil
	})
	if err != nil {
		return 0, err
	}
	if s.sizes == nil {
		s.sizes = map[int]int64{}
	}
	s.sizes[n] = size
	return size, nil
}

// Delete marks message n for deletion at Quit.
func (s *session) Delete(ctx context.Context, n int) error {
	op := "DELE " + strconv.Itoa(n)
	err := s.do(ctx, op, "", func() error {
		_, err := s.cn.cmd(op, func(pc *gopop3.Conn) error { return pc.Dele(n) })
		return err
	})
	if err == nil {
		s.deleted++
	}
	return err
}

// noop asks the server for nothing (NOOP), to keep an idle session open
// or to test that it still is.
func (s *session) noop(ctx context.Context) error {
	return s.do(ctx, "NOOP", "", func() error {
		_, err := s.cn.cmd("NOOP", func(pc *gopop3.Conn) error { return pc.Noop() })
		return err
	})
}

// rset unmarks every message marked for deletion in this session (RSET).
func (s *session) rset(ctx context.Context) error {
	err := s.do(ctx, "RSET", "", func() error {
		_, err := s.cn.cmd("RSET", func(pc *gopop3.Conn) error { return pc.Rset() })
		return err
	})
	if err == nil {
		s.deleted = 0
	}
	return err
}

// Quit ends the session and commits the deletions (RFC 1939 UPDATE
// state). An error means they may not have been committed.
func (s *session) Quit(ctx context.Context) error {
	err := s.do(ctx, "QUIT", "", func() error {
		_, err := s.cn.cmd("QUIT", func(pc *gopop3.Conn) error { return pc.Quit() })
		return err
	})
	s.done = true
	s.cn.close()
	if err == nil {
		s.c.log.Debug("pop3 disconnected", "deleted", s.deleted, "bytes_in", s.cn.w.bytesIn, "bytes_out", s.cn.w.bytesOut)
	}
	return err
}

// Close drops the connection without committing deletions.
func (s *session) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	s.cn.close()
	s.c.log.Debug("pop3 disconnected without QUIT", "deletions_discarded", s.deleted,
		"bytes_in", s.cn.w.bytesIn, "bytes_out", s.cn.w.bytesOut)
	return nil
}

// numbers parses the first want space-separated decimal numbers of text
// (more fields may follow, as RFC 1939 allows after STAT and LIST).
func numbers(text string, want int) ([]int64, error) {
	var out []int64
	rest := text
	for len(out) < want {
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			rest = rest[1:]
		}
		end := 0
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\t' {
			end++
		}
		v, err := strconv.ParseInt(rest[:end], 10, 64)
		if err != nil || v < 0 {
			return nil, &protocolError{msg: fmt.Sprintf("expected %d numbers, got %q", want, clip([]byte(text), 80))}
		}
		out = append(out, v)
		rest = rest[end:]
	}
	return out, nil
}
