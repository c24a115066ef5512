package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// go-imap hands a FETCH response to the command that asked for it only when
// it can match the UID at the time it must decide: before the first literal,
// or at the end of the response. A server that sends UID after BODY[], or
// the `N:*` answer with a UID below N, makes the response unilateral. Such
// responses go to the connection's sink while a fetch streams, so the
// command's consumer sees them in arrival order; otherwise they are drained.

// fetchSink receives the unilateral FETCH responses of one streaming command.
type fetchSink struct {
	ch   chan *imapclient.FetchMessageData
	done chan struct{} // closed when the command's consumer is finished
}

// unilateralFetch is the client's handler for unmatched FETCH responses; the
// client runs it in a goroutine of its own. The response must be consumed,
// or the client's reader stalls.
func (cn *conn) unilateralFetch(msg *imapclient.FetchMessageData) {
	cn.sinkMu.Lock()
	sink := cn.sink
	cn.sinkMu.Unlock()
	if sink != nil {
		select {
		case sink.ch <- msg:
			return
		case <-sink.done:
		}
	}
	drainMessage(msg)
}

// drainMessage consumes every remaining item of msg, literals included.
func drainMessage(msg *imapclient.FetchMessageData) {
	for msg.Next() != nil {
	}
}

// fetchStream yields the responses of one FETCH command, those go-imap
// matched and the unilateral ones, one at a time in arrival order.
type fetchStream struct {
	cn      *conn
	cmd     *imapclient.FetchCommand
	sink    *fetchSink
	fromCmd chan *imapclient.FetchMessageData // nil once the command ended
	ack     chan struct{}
	prev    *imapclient.FetchMessageData
	prevCmd bool // prev came from fromCmd and awaits its ack
}

// examineAndFetch pipelines EXAMINE mailbox and FETCH, and streams the
// FETCH responses; the caller waits for the EXAMINE result with
// Store.examined and must call the stream's close. The sink is in place
// before FETCH is sent: its first unilateral response may arrive at once.
// condstore asks EXAMINE for HIGHESTMODSEQ (the server must offer
// CONDSTORE).
func (cn *conn) examineAndFetch(mailbox string, condstore bool, set imap.NumSet, opts *imap.FetchOptions) (*imapclient.SelectCommand, *fetchStream) {
	st := &fetchStream{
		cn:      cn,
		sink:    &fetchSink{ch: make(chan *imapclient.FetchMessageData), done: make(chan struct{})},
		fromCmd: make(chan *imapclient.FetchMessageData),
		ack:     make(chan struct{}),
	}
	cn.sinkMu.Lock()
	cn.sink = st.sink
	cn.sinkMu.Unlock()

	ex := cn.examine(mailbox, condstore)
	cmd := cn.client.Fetch(set, opts)
	st.cmd = cmd
	go func() {
		defer close(st.fromCmd)
		for {
			msg := cmd.Next()
			if msg == nil {
				return
			}
			st.fromCmd <- msg
			<-st.ack // the consumer is done with msg: Next may discard it
		}
	}()
	return ex, st
}

// next returns the next response, nil after the last. The previous response
// is drained first.
func (st *fetchStream) next() *imapclient.FetchMessageData {
	if st.prev != nil {
		drainMessage(st.prev)
		if st.prevCmd {
			st.ack <- struct{}{}
		}
		st.prev = nil
	}
	for {
		if st.fromCmd == nil {
			// The command has ended; a unilateral response carrying a
			// literal would have stalled the reader before the end, so only
			// already queued ones remain.
			select {
			case msg := <-st.sink.ch:
				st.prev, st.prevCmd = msg, false
				return msg
			default:
				return nil
			}
		}
		select {
		case msg, ok := <-st.fromCmd:
			if !ok {
				st.fromCmd = nil
				continue
			}
			st.prev, st.prevCmd = msg, true
			return msg
		case msg := <-st.sink.ch:
			st.prev, st.prevCmd = msg, false
			return msg
		}
	}
}

// close drains what is left, detaches the sink and returns the command's
// result. A NO [EXPUNGEISSUED] is a complete answer without the expunged
// messages (see expungeIssued): nil.
func (st *fetchStream) close() error {
	for st.next() != nil {
	}
	st.cn.sinkMu.Lock()
	if st.cn.sink == st.sink {
		st.cn.sink = nil
	}
	st.cn.sinkMu.Unlock()
	close(st.sink.done)
	err := st.cmd.Close()
	if expungeIssued(err) {
		st.cn.log.Debug("imap fetch answered without expunged messages", "err", err)
		return nil
	}
	return err
}
