package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"mailfs/internal/atomicfile"
)

// searchFile keeps the saved searches of every account (fs.SearchStore) in
// one JSON file of the data directory, {"account": ["query", …]}, replaced
// atomically on every change.
type searchFile struct {
	path string

	mu sync.Mutex
}

// read returns the file's searches; none when it does not exist.
func (f *searchFile) read() (map[string][]string, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w (move it away to start with no saved searches)", f.path, err)
	}
	return m, nil
}

// Searches returns the queries saved for account.
func (f *searchFile) Searches(account string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return nil, err
	}
	return slices.Clone(m[account]), nil
}

// SetSearches replaces the queries saved for account.
func (f *searchFile) SetSearches(account string, queries []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	if len(queries) == 0 {
		delete(m, account)
	} else {
		m[account] = queries
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.path, append(b, '\n'), 0o600)
}
