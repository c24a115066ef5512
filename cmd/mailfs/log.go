package main

import (
	"io"
	"log/slog"
)

// newLogger returns the process logger: text lines on stderr, debug detail
// with -v. Nothing logged anywhere in mailfs carries a secret.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
