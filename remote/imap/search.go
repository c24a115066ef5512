package imap

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/query"
	"mailfs/remote"
)

var _ remote.Searcher = (*Store)(nil)

// Search returns, ascending, the UIDs of the messages of mailbox that match
// q, with one UID SEARCH after an EXAMINE pipelined before it (never
// SELECT: searching changes nothing). The mailbox's UIDVALIDITY must be
// uidValidity (an error wrapping remote.ErrUIDValidity otherwise). A query
// that query.Check refuses fails with remote.ErrInvalid before anything is
// sent. Where the server offers ESEARCH it is asked for RETURN (ALL), so
// that the answer is ranges, not one number per message. go-imap adds
// CHARSET UTF-8 when a string is not ASCII and the server is not
// IMAP4rev2, and reads the answer whether it comes as SEARCH or as
// ESEARCH.
func (s *Store) Search(ctx context.Context, mailbox string, uidValidity uint32, q remote.Query) ([]uint32, error) {
	const op = "UID SEARCH"
	if err := query.Check(q); err != nil {
		return nil, s.newErr(opName(op, mailbox), remote.ErrInvalid, err.Error(), "", nil)
	}
	criteria := searchCriteria(q)
	var out []uint32
	err := s.do(ctx, op, mailbox, func(cn *conn, _ *bool) error {
		ex := cn.examine(mailbox, false)
		var opts *imap.SearchOptions
		if cn.client.Caps().Has(imap.CapESearch) {
			// ESEARCH (RFC 4731): the UIDs come back as ranges.
			opts = &imap.SearchOptions{ReturnAll: true}
		}
		cmd := cn.client.UIDSearch(criteria, opts)
		if err := s.examined(cn, ex, mailbox, uidValidity); err != nil {
			cmd.Wait() // answered NO or BAD without a mailbox, or for the wrong one
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		uids, err := searchUIDs(data)
		if err != nil {
			return s.newErr(opName(op, mailbox), remote.ErrUnavailable, err.Error(), "", nil)
		}
		out = uids
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// searchUIDs returns the UIDs of a UID SEARCH answer, sorted and without
// duplicates.
func searchUIDs(data *imap.SearchData) ([]uint32, error) {
	if data.All == nil {
		return nil, nil
	}
	set, ok := data.All.(imap.UIDSet)
	if !ok {
		return nil, fmt.Errorf("the server answered UID SEARCH with sequence numbers")
	}
	nums, ok := set.Nums()
	if !ok {
		return nil, fmt.Errorf("the server answered UID SEARCH with a range ending in *")
	}
	out := make([]uint32, len(nums))
	for i, n := range nums {
		out[i] = uint32(n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// searchCriteria translates a query that passed query.Check into go-imap's
// criteria, key by key (RFC 3501 6.4.4):
//
//	from:, to:, subject:  FROM, TO, SUBJECT
//	body:, text:          BODY, TEXT
//	since:, before:       SINCE, BEFORE with the query's calendar day
//	larger:N              LARGER N; larger:0 is NOT SMALLER 1 (go-imap
//	                      writes no LARGER 0)
//	unseen, flagged       UNSEEN, FLAGGED
//	all                   ALL (an empty key list)
//	AND                   the operands' keys side by side
//	OR                    OR, nested to the right for more than two
//	NOT                   NOT (…)
//
// go-imap writes SINCE d BEFORE d+1 in one AND as ON d, which is the same.
func searchCriteria(q remote.Query) *imap.SearchCriteria {
	c := &imap.SearchCriteria{}
	switch q.Op {
	case remote.QueryAll:
	case remote.QueryAnd:
		for _, a := range q.Args {
			c.And(searchCriteria(a))
		}
	case remote.QueryOr:
		right := searchCriteria(q.Args[len(q.Args)-1])
		for i := len(q.Args) - 2; i >= 0; i-- {
			right = &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{*searchCriteria(q.Args[i]), *right}}}
		}
		return right
	case remote.QueryNot:
		c.Not = []imap.SearchCriteria{*searchCriteria(q.Args[0])}
	case remote.QueryFrom:
		c.Header = []imap.SearchCriteriaHeaderField{{Key: "From", Value: q.Text}}
	case remote.QueryTo:
		c.Header = []imap.SearchCriteriaHeaderField{{Key: "To", Value: q.Text}}
	case remote.QuerySubject:
		c.Header = []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: q.Text}}
	case remote.QueryBody:
		c.Body = []string{q.Text}
	case remote.QueryText:
		c.Text = []string{q.Text}
	case remote.QuerySince:
		c.Since = calendarDay(q.Date)
	case remote.QueryBefore:
		c.Before = calendarDay(q.Date)
	case remote.QueryUnseen:
		c.NotFlag = []imap.Flag{imap.FlagSeen}
	case remote.QueryFlagged:
		c.Flag = []imap.Flag{imap.FlagFlagged}
	case remote.QueryLarger:
		if q.Size > 0 {
			c.Larger = q.Size
		} else {
			c.Not = []imap.SearchCriteria{{Smaller: 1}}
		}
	}
	return c
}

// calendarDay returns midnight UTC of t's calendar day in t's location:
// go-imap writes the day of the time it is given, and merges the dates of
// an AND by comparing instants, which midnights UTC keep in the order of
// their days.
func calendarDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
