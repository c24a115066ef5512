package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

// fakeSentStore lists the given mailboxes and counts appends.
type fakeSentStore struct {
	boxes   []remote.Mailbox
	appends int
}

func (f *fakeSentStore) Mailboxes(context.Context) ([]remote.Mailbox, error) { return f.boxes, nil }

func (f *fakeSentStore) Append(_ context.Context, _ string, _ []string, _ time.Time, r io.Reader, _ int64) (remote.Placed, error) {
	f.appends++
	io.Copy(io.Discard, r)
	return remote.Placed{}, nil
}

// TestSentFolderWarnOnce: the missing Sent folder is warned about once
// per account, however many messages are sent, and again after a Sent
// folder appeared and went.
func TestSentFolderWarnOnce(t *testing.T) {
	var logs bytes.Buffer
	store := &fakeSentStore{}
	c := &sentCopier{account: "work", store: store, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		if err := c.copy(context.Background(), strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "no Sent folder"); n != 1 {
		t.Errorf("warning logged %d times, want once:\n%s", n, logs.String())
	}
	if store.appends != 0 {
		t.Errorf("got %d appends, want 0", store.appends)
	}
}
