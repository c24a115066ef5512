package pop3store

import (
	"context"
	"fmt"
	"os"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

// Structure returns the MIME structure of message uid, parsed from the
// stored file.
func (s *Store) Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (remote.Part, error) {
	f, err := s.Open(ctx, mailbox, uidValidity, uid)
	if err != nil {
		return remote.Part{}, err
	}
	defer f.Close()
	p, err := mimeparts.Parse(f)
	if err != nil {
		return remote.Part{}, fmt.Errorf("structure of %s/%s/%d: %w", s.account, mailbox, uid, err)
	}
	return p, nil
}

// OpenPart returns the body of part section of message uid as stored
// (in its transfer encoding), or its header for "HEADER", cut out of the
// stored file into an unlinked temporary file.
func (s *Store) OpenPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string) (*os.File, error) {
	f, err := s.Open(ctx, mailbox, uidValidity, uid)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := mimeparts.ExtractFile(f, section, os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("part %s of %s/%s/%d: %w", section, s.account, mailbox, uid, err)
	}
	return out, nil
}
