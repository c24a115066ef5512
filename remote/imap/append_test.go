package imap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

func TestAppend(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Sent"); err != nil {
		t.Fatal(err)
	}
	s := testStore(t, srv, nil)
	ctx := context.Background()
	msg := testMessage(1, "appended")
	date := time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("", 3600))
	placed, err := s.Append(ctx, "Sent", []string{`\Seen`}, date, bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	uid := placed.UID
	if !placed.Known() {
		t.Errorf("Append returned UID 0 from a UIDPLUS server")
	}
	flags, err := srv.Flags("Sent")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(flags[uid], `\Seen`) {
		t.Errorf("flags of the appended message: got %v, want \\Seen", flags[uid])
	}
	st, err := s.Status(ctx, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	err = s.Fetch(ctx, "Sent", st.UIDValidity, []uint32{uid}, func(_ uint32, r io.Reader) error {
		got, err = io.ReadAll(r)
		return err
	})
	if err != nil || !bytes.Equal(got, msg) {
		t.Errorf("fetch appended message: %q, %v; want %q", got, err, msg)
	}
	var infos []remote.MessageInfo
	s.Messages(ctx, "Sent", st.UIDValidity, 1, func(m remote.MessageInfo) error { infos = append(infos, m); return nil })
	if len(infos) != 1 || !infos[0].InternalDate.Equal(date) {
		t.Errorf("listing after append: got %+v, want one message dated %v", infos, date)
	}

	_, err = s.Append(ctx, "NoSuchFolder", nil, date, bytes.NewReader(msg), int64(len(msg)))
	if !errors.Is(err, remote.ErrNotFound) && !errors.Is(err, remote.ErrRefused) {
		t.Errorf("append to a missing mailbox: %v, want ErrNotFound or ErrRefused", err)
	}
	_, err = s.Append(ctx, "Sent", nil, date, bytes.NewReader(msg), int64(len(msg))+5)
	if err == nil {
		t.Errorf("append with a wrong size succeeded")
	}
	// The store still works after the failed appends.
	if _, err := s.Status(ctx, "Sent"); err != nil {
		t.Errorf("Status after failed appends: %v", err)
	}
}
