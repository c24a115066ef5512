package main

import (
	"io"
	"log/slog"

	"mailfs/internal/config"
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

// loadConfig reads and validates the config at path ("" = the default
// location) and logs its warnings.
func loadConfig(path string, log *slog.Logger) (*config.Config, error) {
	cfg, warnings, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	return cfg, nil
}
