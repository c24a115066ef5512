package ctxio

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestReaderWriter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	if _, err := Writer(ctx, &buf).Write([]byte("a")); err != nil {
		t.Fatalf("Write before cancel: %v", err)
	}
	p := make([]byte, 1)
	if n, err := Reader(ctx, strings.NewReader("b")).Read(p); n != 1 || err != nil {
		t.Fatalf("Read before cancel: %d, %v", n, err)
	}
	cancel()
	if _, err := Writer(ctx, &buf).Write([]byte("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel: got %v, want context.Canceled", err)
	}
	if _, err := Reader(ctx, strings.NewReader("d")).Read(p); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: got %v, want context.Canceled", err)
	}
	if buf.String() != "a" {
		t.Errorf("written: got %q, want a", buf.String())
	}
}
