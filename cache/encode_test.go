package cache

import (
	"slices"
	"testing"
	"time"

	"mailfs/remote"
)

func TestEncodeMessageRoundTrip(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		name string
		m    remote.MessageInfo
	}{
		{"zero", remote.MessageInfo{UID: 1}},
		{"full", remote.MessageInfo{
			UID: 4711, Size: 123456,
			InternalDate: time.Date(2026, 11, 20, 9, 15, 3, 0, time.FixedZone("", -7*3600)),
			Flags:        []string{`\Flagged`, `\Seen`, "$Label1"},
			Subject:      "Quarterly report", MessageID: "abc@example.com",
		}},
		{"utf8 and named zone", remote.MessageInfo{
			UID: 2, Size: 1, InternalDate: time.Date(2024, 7, 1, 23, 59, 59, 5, berlin),
			Subject: "보관함 — Grüße", MessageID: "",
		}},
		{"utc", remote.MessageInfo{UID: 3, InternalDate: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), MessageID: "x@y"}},
	}
	in := newInterner()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMessage(in, tt.m.UID, encodeMessage(tt.m))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			w := tt.m
			if got.UID != w.UID || got.Size != w.Size || got.Subject != w.Subject || got.MessageID != w.MessageID {
				t.Errorf("got %+v, want %+v", got, w)
			}
			if !slices.Equal(got.Flags, in.flagSet(w.Flags)) {
				t.Errorf("flags: got %q, want %q", got.Flags, w.Flags)
			}
			if !got.InternalDate.Equal(w.InternalDate) || got.InternalDate.IsZero() != w.InternalDate.IsZero() {
				t.Errorf("date: got %v, want %v", got.InternalDate, w.InternalDate)
			}
			gn, go_ := got.InternalDate.Zone()
			wn, wo := w.InternalDate.Zone()
			if gn != wn || go_ != wo || got.InternalDate.Format("2006-01-02_1504") != w.InternalDate.Format("2006-01-02_1504") {
				t.Errorf("zone: got %s %d, want %s %d", gn, go_, wn, wo)
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	in := newInterner()
	good := encodeMessage(remote.MessageInfo{UID: 1, Subject: "hello", Flags: []string{`\Seen`}})
	for i := range len(good) {
		if _, err := decodeMessage(in, 1, good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	if _, err := decodeState([]byte{99}); err == nil {
		t.Error("decodeState of a wrong version: no error")
	}
}

func TestEncodeStateAndMailboxes(t *testing.T) {
	s := mboxState{
		MailboxStatus: remote.MailboxStatus{UIDValidity: 7, UIDNext: 4242, Messages: 100, HighestModSeq: 1 << 40},
		Checked:       time.Unix(1_800_000_000, 123),
	}
	got, err := decodeState(encodeState(s))
	if err != nil || got.MailboxStatus != s.MailboxStatus || !got.Checked.Equal(s.Checked) {
		t.Errorf("state: got %+v, %v; want %+v", got, err, s)
	}
	l := mailboxList{Checked: time.Unix(5, 0), Mailboxes: []remote.Mailbox{
		{Name: "INBOX"}, {Name: "Archive/2024", Delim: '/', Attrs: []string{`\HasNoChildren`, `\Archive`}},
	}}
	gl, err := decodeMailboxes(encodeMailboxes(l))
	if err != nil || !gl.Checked.Equal(l.Checked) || len(gl.Mailboxes) != 2 ||
		gl.Mailboxes[1].Name != "Archive/2024" || gl.Mailboxes[1].Delim != '/' || !slices.Equal(gl.Mailboxes[1].Attrs, l.Mailboxes[1].Attrs) {
		t.Errorf("mailboxes: got %+v, %v; want %+v", gl, err, l)
	}
}
