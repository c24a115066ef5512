package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

// A message's parts (the filesystem's NAME.eml.d/) come from its cached
// body when there is one: the structure is parsed from it and each part
// cut out of it, with no network. Otherwise the server gives them one at a
// time (remote.PartFetcher: BODYSTRUCTURE, BODY.PEEK[section]), and they
// are cached like bodies, beside where the body would be:
// bodies/…/UIDVALIDITY/UID.parts/structure.json and SECTION.part. They
// count against max_size, are evicted least recently read first, and go
// with the message.

const (
	partsDirSuffix = ".parts"
	structureFile  = "structure.json"
	partSuffix     = ".part"
)

// isCachedFile reports whether a file of the bodies directory named name
// is a cached body or part, counted against max_size.
func isCachedFile(name string) bool {
	return strings.HasSuffix(name, bodySuffix) || strings.HasSuffix(name, partSuffix) || name == structureFile
}

// partsDir is the directory of a message's cached parts.
func partsDir(bodyPath string) string {
	return strings.TrimSuffix(bodyPath, bodySuffix) + partsDirSuffix
}

// Structure returns the MIME structure of message uid of mailbox.
func (a *Account) Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (remote.Part, error) {
	op := fmt.Sprintf("structure of %s/%s/%d", a.name, mailbox, uid)
	body := a.c.bodyPath(a.name, mailbox, uidValidity, uid)
	if f, err := os.Open(body); err == nil {
		defer f.Close()
		a.c.touch(body)
		p, err := mimeparts.Parse(f)
		if err != nil {
			return remote.Part{}, fmt.Errorf("%s: %w", op, err)
		}
		return p, nil
	}
	path := filepath.Join(partsDir(body), structureFile)
	if b, err := os.ReadFile(path); err == nil {
		var p remote.Part
		if err := json.Unmarshal(b, &p); err == nil {
			a.c.touch(path)
			return p, nil
		}
	}
	pf, err := a.partFetcher(mailbox, uidValidity, uid)
	if err != nil {
		return remote.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	p, err := pf.Structure(ctx, mailbox, uidValidity, uid)
	if errors.Is(err, remote.ErrUnavailable) && ctx.Err() == nil {
		// Some BODYSTRUCTUREs the client cannot read (go-imap beta.8 and
		// Dovecot's message/global part, pinned by remote/imap's
		// TestPartsDovecot), and the connection dies with them; the
		// message itself can be read, and
		// Parse makes of it what the server would have said. In an outage
		// Open fails as well, and notes it.
		return a.structureFromBody(ctx, op, mailbox, uidValidity, uid)
	}
	a.served(mailbox, err)
	if err != nil {
		return remote.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	if b, err := json.Marshal(p); err == nil {
		if err := a.writePart(path, strings.NewReader(string(b))); err != nil {
			a.c.log.Debug("cannot cache a message structure", "account", a.name, "mailbox", mailbox, "uid", uid, "err", err)
		}
	}
	return p, nil
}

// structureFromBody returns the structure of a message parsed from its
// body, fetched whole into the cache.
func (a *Account) structureFromBody(ctx context.Context, op, mailbox string, uidValidity, uid uint32) (remote.Part, error) {
	f, err := a.Open(ctx, mailbox, uidValidity, uid)
	if err != nil {
		return remote.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	defer f.Close()
	p, err := mimeparts.Parse(f)
	if err != nil {
		return remote.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	return p, nil
}

// OpenPart returns the body of part section of message uid as
// transferred, or its header for "HEADER", as a read-only file.
func (a *Account) OpenPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string) (*os.File, error) {
	op := fmt.Sprintf("part %s of %s/%s/%d", section, a.name, mailbox, uid)
	body := a.c.bodyPath(a.name, mailbox, uidValidity, uid)
	if f, err := os.Open(body); err == nil {
		defer f.Close()
		a.c.touch(body)
		out, err := mimeparts.ExtractFile(f, section, a.c.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return out, nil
	}
	path := filepath.Join(partsDir(body), sectionFileName(section))
	if f, err := os.Open(path); err == nil {
		a.c.touch(path)
		return f, nil
	}
	pf, err := a.partFetcher(mailbox, uidValidity, uid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := pf.FetchPart(ctx, mailbox, uidValidity, uid, section, pw)
		pw.CloseWithError(err)
	}()
	err = a.writePart(path, pr)
	pr.Close()
	a.served(mailbox, err)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return os.Open(path)
}

// partFetcher returns the store as a PartFetcher, after checking that the
// server can be asked.
func (a *Account) partFetcher(mailbox string, uidValidity, uid uint32) (remote.PartFetcher, error) {
	pf, ok := a.store.(remote.PartFetcher)
	if !ok {
		return nil, remote.ErrUnsupported
	}
	m, err := a.box(mailbox)
	if err != nil {
		return nil, err
	}
	if err := a.checkListed(m, uidValidity, uid); err != nil {
		return nil, err
	}
	if down, cause := a.down(); down {
		return nil, cause
	}
	return pf, nil
}

// writePart writes a cached part file (through the body cache's size
// accounting).
func (a *Account) writePart(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	_, err := a.c.writeBody(path, r)
	return err
}

// sectionFileName is the cache file of a section ("HEADER" included).
func sectionFileName(section string) string {
	return section + partSuffix
}

// removeParts deletes the cached parts of the message whose body is at
// bodyPath.
func (c *Cache) removeParts(bodyPath string) {
	dir := partsDir(bodyPath)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return
	}
	c.removeBodies(dir)
}
