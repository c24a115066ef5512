package pop3store

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPollLogLevels: a session that downloads logs one info line; a poll
// with nothing new logs nothing at info level.
func TestPollLogLevels(t *testing.T) {
	var logs bytes.Buffer
	s, err := Open(&Options{
		Dir: filepath.Join(t.TempDir(), "pop3", "acct"), Account: "acct",
		Downloader: newFakeDrop(msg("u1", sample("one"))), LeaveOnServer: true,
		PollWait: time.Minute, Now: newClock().Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=INFO"); n != 1 || !strings.Contains(logs.String(), "stored=1") {
		t.Fatalf("first poll logged %d info lines, want one saying stored=1:\n%s", n, logs.String())
	}
	logs.Reset()
	for range 3 {
		if err := s.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(logs.String(), "level=INFO") || strings.Count(logs.String(), `level=DEBUG msg="pop3 session"`) != 3 {
		t.Errorf("three polls with nothing new: want three debug lines and no info line, got:\n%s", logs.String())
	}
}
