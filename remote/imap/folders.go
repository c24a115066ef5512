package imap

import (
	"context"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2/imapclient"
)

// CreateMailbox creates mailbox name with CREATE. The name is UTF-8, its
// levels joined by the server's delimiter; go-imap sends it in modified
// UTF-7. An existing mailbox is an error wrapping remote.ErrExists.
func (s *Store) CreateMailbox(ctx context.Context, name string) error {
	return s.folder(ctx, "CREATE "+strconv.Quote(name), false, func(cn *conn) error {
		return cn.client.Create(name, nil).Wait()
	})
}

// DeleteMailbox deletes mailbox name with DELETE (its messages with it).
// A missing mailbox is an error wrapping remote.ErrNotFound, a refusal
// because of children (HASCHILDREN) remote.ErrNotEmpty. Deleting the
// mailbox a pooled connection has selected works: see folder.
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	err := s.folder(ctx, "DELETE "+strconv.Quote(name), true, func(cn *conn) error {
		return cn.client.Delete(name).Wait()
	})
	if err == nil {
		s.dropSelected(name)
	}
	return err
}

// RenameMailbox renames mailbox oldName to newName with RENAME; the server
// renames the mailboxes under it too. A missing oldName is an error
// wrapping remote.ErrNotFound, an existing newName remote.ErrExists.
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	err := s.folder(ctx, "RENAME "+strconv.Quote(oldName)+" "+strconv.Quote(newName), true, func(cn *conn) error {
		return cn.client.Rename(oldName, newName, nil).Wait()
	})
	if err == nil {
		s.dropSelected(oldName)
	}
	return err
}

// folder runs f, a command on mailbox names, on a pooled connection. With
// unselect set (DELETE, RENAME) a connection that has a mailbox selected
// sends UNSELECT first, pipelined: Dovecot answers the DELETE or RENAME
// of the selected mailbox, or of one above it, and then disconnects with
// BYE. Without UNSELECT the command goes out as it is (the connection may
// then be lost, the command's answer is not).
func (s *Store) folder(ctx context.Context, op string, unselect bool, f func(cn *conn) error) error {
	return s.do(ctx, op, "", func(cn *conn, called *bool) error {
		var unsel *imapclient.Command
		if unselect && cn.selected != "" && hasUnselect(cn.caps) {
			unsel = cn.client.Unselect()
			cn.selected = ""
		}
		*called = true // CREATE, DELETE and RENAME are not repeated
		err := f(cn)
		if unsel != nil {
			if uerr := unsel.Wait(); uerr != nil {
				// What is selected is not known any more.
				cn.log.Debug("imap UNSELECT failed; dropping the connection", "err", uerr)
				cn.kill()
			}
		}
		if err != nil {
			return s.stepErr(op, "", "", err)
		}
		return nil
	})
}

// dropSelected closes the idle connections that have mailbox, or a
// mailbox whose name begins with it (one under it, whatever the
// delimiter), selected, after that mailbox was deleted or renamed: their
// selection names a mailbox that is gone, and Dovecot disconnects such
// sessions at their next command anyway.
func (s *Store) dropSelected(mailbox string) {
	var stale []*conn
	s.mu.Lock()
	kept := s.idle[:0]
	for _, cn := range s.idle {
		if cn.selected != "" && strings.HasPrefix(cn.selected, mailbox) {
			stale = append(stale, cn)
			continue
		}
		kept = append(kept, cn)
	}
	clear(s.idle[len(kept):])
	s.idle = kept
	s.mu.Unlock()
	for _, cn := range stale {
		cn.close("its selected mailbox was deleted or renamed", false)
	}
}
