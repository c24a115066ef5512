package cache

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"mailfs/remote"
)

// The database values use a small hand-made encoding: a version byte, then
// varints and length-prefixed strings. It is compact on disk and decodes
// with few allocations.

const encVersion = 1

var errCorrupt = errors.New("corrupt cache record")

// zeroUnix is the Unix time of the zero time.Time.
var zeroUnix = time.Time{}.Unix()

// interner shares the strings and values that repeat across messages (flag
// sets and time zones), so that a large listing costs little heap.
type interner struct {
	mu    sync.Mutex                 // guards flags and zones
	flags map[string][]string        // joined flag set -> shared slice
	zones map[zoneKey]*time.Location // offset and name -> shared zone
}

type zoneKey struct {
	name   string
	offset int
}

func newInterner() *interner {
	return &interner{flags: map[string][]string{}, zones: map[zoneKey]*time.Location{}}
}

// flagSet returns a shared, sorted slice with the flags of flags. Callers
// never modify it.
func (in *interner) flagSet(flags []string) []string {
	if len(flags) == 0 {
		return nil
	}
	if !slices.IsSorted(flags) {
		flags = slices.Sorted(slices.Values(flags))
	}
	key := strings.Join(flags, "\x00")
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.flags[key]; ok {
		return s
	}
	s := append([]string(nil), flags...)
	in.flags[key] = s
	return s
}

// zone returns a shared fixed zone.
func (in *interner) zone(name string, offset int) *time.Location {
	if name == "UTC" && offset == 0 {
		return time.UTC
	}
	k := zoneKey{name, offset}
	in.mu.Lock()
	defer in.mu.Unlock()
	if z, ok := in.zones[k]; ok {
		return z
	}
	z := time.FixedZone(name, offset)
	in.zones[k] = z
	return z
}

// message returns m with its flags and zone shared with other messages.
func (in *interner) message(m remote.MessageInfo) remote.MessageInfo {
	m.Flags = in.flagSet(m.Flags)
	if t := m.InternalDate; !t.IsZero() && t.Location() != time.UTC && t.Location() != time.Local {
		name, offset := t.Zone()
		m.InternalDate = t.In(in.zone(name, offset))
	}
	return m
}

// uidKey is the database key of a message: its UID, big-endian, so that
// cursor order is UID order.
func uidKey(uid uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, uid)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeMessage encodes everything of m but its UID (the key).
func encodeMessage(m remote.MessageInfo) []byte {
	b := make([]byte, 0, 32+len(m.Subject)+len(m.MessageID))
	b = append(b, encVersion)
	b = binary.AppendUvarint(b, uint64(max(m.Size, 0)))
	t := m.InternalDate
	name, offset := t.Zone()
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	b = binary.AppendVarint(b, int64(offset))
	if t.IsZero() {
		name = "UTC"
	}
	b = appendString(b, name)
	b = binary.AppendUvarint(b, uint64(len(m.Flags)))
	for _, f := range m.Flags {
		b = appendString(b, f)
	}
	// Subject and Message-ID are adjacent so that decoding makes one string.
	b = binary.AppendUvarint(b, uint64(len(m.Subject)))
	b = binary.AppendUvarint(b, uint64(len(m.MessageID)))
	b = append(b, m.Subject...)
	b = append(b, m.MessageID...)
	return b
}

// decoder reads the encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

func (d *decoder) version() {
	if len(d.b) == 0 || d.b[0] != encVersion {
		d.err = errCorrupt
		return
	}
	d.b = d.b[1:]
}

// decodeMessage decodes a value made by encodeMessage. The result shares no
// memory with v (bbolt values are valid only within their transaction).
func decodeMessage(in *interner, uid uint32, v []byte) (remote.MessageInfo, error) {
	d := decoder{b: v}
	d.version()
	m := remote.MessageInfo{UID: uid}
	size := d.uvarint()
	sec := d.varint()
	nsec := d.uvarint()
	offset := d.varint()
	zname := d.bytes(d.uvarint())
	nflags := d.uvarint()
	if d.err == nil && nflags > uint64(len(d.b)) {
		d.err = errCorrupt
	}
	var flagBuf [8]string
	flags := flagBuf[:0]
	for i := uint64(0); i < nflags && d.err == nil; i++ {
		flags = append(flags, string(d.bytes(d.uvarint())))
	}
	nsub := d.uvarint()
	nid := d.uvarint()
	both := d.bytes(nsub + nid)
	if d.err != nil || size > math.MaxInt64 || nsec >= 1e9 || offset < -86400 || offset > 86400 {
		return m, errCorrupt
	}
	m.Size = int64(size)
	if sec != zeroUnix || nsec != 0 {
		m.InternalDate = time.Unix(sec, int64(nsec)).In(in.zone(string(zname), int(offset)))
	}
	m.Flags = in.flagSet(flags)
	s := string(both)
	m.Subject, m.MessageID = s[:nsub], s[nsub:]
	return m, nil
}

// mboxState is what the cache knows about a mailbox as a whole.
type mboxState struct {
	remote.MailboxStatus
	// Checked is when the server last confirmed the listing.
	Checked time.Time
}

func encodeState(s mboxState) []byte {
	b := []byte{encVersion}
	b = binary.AppendUvarint(b, uint64(s.UIDValidity))
	b = binary.AppendUvarint(b, uint64(s.UIDNext))
	b = binary.AppendUvarint(b, uint64(s.Messages))
	b = binary.AppendUvarint(b, s.HighestModSeq)
	return binary.AppendVarint(b, timeNanos(s.Checked))
}

func decodeState(v []byte) (mboxState, error) {
	d := decoder{b: v}
	d.version()
	var s mboxState
	uv, next, n := d.uvarint(), d.uvarint(), d.uvarint()
	s.HighestModSeq = d.uvarint()
	checked := d.varint()
	if d.err != nil || uv > math.MaxUint32 || next > math.MaxUint32 || n > math.MaxUint32 {
		return s, errCorrupt
	}
	s.UIDValidity, s.UIDNext, s.Messages = uint32(uv), uint32(next), uint32(n)
	s.Checked = nanosTime(checked)
	return s, nil
}

func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanosTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// mailboxList is an account's mailboxes and when the server last listed them.
type mailboxList struct {
	Mailboxes []remote.Mailbox
	Checked   time.Time
}

func encodeMailboxes(l mailboxList) []byte {
	b := []byte{encVersion}
	b = binary.AppendVarint(b, timeNanos(l.Checked))
	b = binary.AppendUvarint(b, uint64(len(l.Mailboxes)))
	for _, m := range l.Mailboxes {
		b = appendString(b, m.Name)
		b = binary.AppendUvarint(b, uint64(m.Delim))
		b = binary.AppendUvarint(b, uint64(len(m.Attrs)))
		for _, a := range m.Attrs {
			b = appendString(b, a)
		}
	}
	return b
}

func decodeMailboxes(v []byte) (mailboxList, error) {
	d := decoder{b: v}
	d.version()
	var l mailboxList
	l.Checked = nanosTime(d.varint())
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		return l, errCorrupt
	}
	l.Mailboxes = make([]remote.Mailbox, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		m := remote.Mailbox{Name: d.string(), Delim: rune(d.uvarint())}
		na := d.uvarint()
		if d.err == nil && na > uint64(len(d.b)) {
			return l, errCorrupt
		}
		for j := uint64(0); j < na && d.err == nil; j++ {
			m.Attrs = append(m.Attrs, d.string())
		}
		l.Mailboxes = append(l.Mailboxes, m)
	}
	if d.err != nil {
		return l, d.err
	}
	return l, nil
}
