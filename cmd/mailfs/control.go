package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mailfs/cache"
	"mailfs/cache/pop3store"
	"mailfs/internal/statedir"
	"mailfs/outbox"
)

// The control socket: a running `mailfs mount` listens on a unix socket
// private to the user, one per mountpoint, and `mailfs status`, `mailfs
// outbox retry` and `mailfs sendmail` talk to it. A connection carries one
// request line (JSON) and gets one response line (JSON); a "submit"
// request is followed by the Size bytes of the message.

// Control requests.
const (
	opStatus = "status" // the state of accounts and outbox
	opRetry  = "retry"  // send every waiting message now
	opSubmit = "submit" // queue the message that follows (sendmail)
)

// controlRequest is the request line.
type controlRequest struct {
	Op string `json:"op"`
	// Size is the length of the message following a submit request.
	Size int64 `json:"size,omitempty"`
	// From, Recipients and Extract address a submitted message (see
	// outbox.Submission).
	From       string   `json:"from,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
	Extract    bool     `json:"extract,omitempty"`
}

// controlResponse is the response line.
type controlResponse struct {
	OK bool `json:"ok"`
	// Error says why the request failed, one line; Invalid is set when it
	// failed because the submitted message is invalid.
	Error   string `json:"error,omitempty"`
	Invalid bool   `json:"invalid,omitempty"`
	// Status answers a status request.
	Status *daemonStatus `json:"status,omitempty"`
	// Count answers a retry request: how many messages are sent now.
	Count int `json:"count"`
	// Name is the name of a submitted message in outbox/.
	Name string `json:"name,omitempty"`
}

// daemonStatus is what `mailfs status` shows.
type daemonStatus struct {
	Mountpoint string          `json:"mountpoint"`
	PID        int             `json:"pid"`
	Accounts   []accountStatus `json:"accounts"`
	// Cache is the IMAP body cache, shared by the IMAP accounts (nil
	// when there is none).
	Cache *cacheStatus `json:"cache,omitempty"`
	// Outbox is nil when no account can send.
	Outbox *outboxStatus `json:"outbox,omitempty"`
}

// accountStatus is the state of one account.
type accountStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "IMAP" or "POP3"
	// State is "online", "offline" or "unknown" (the store does not say).
	State        string    `json:"state"`
	OfflineSince time.Time `json:"offline_since,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastContact  time.Time `json:"last_contact,omitzero"`
	LastSync     time.Time `json:"last_sync,omitzero"`
}

// cacheStatus is the size of the IMAP body cache.
type cacheStatus struct {
	Used int64 `json:"used"`
	Max  int64 `json:"max"` // 0: unlimited
}

// outboxStatus lists the messages of the outbox.
type outboxStatus struct {
	Held    []outboxMessage `json:"held"`
	Waiting []outboxMessage `json:"waiting"`
	Failed  []outboxMessage `json:"failed"`
}

// outboxMessage is one message of the outbox.
type outboxMessage struct {
	Name        string    `json:"name"`
	Account     string    `json:"account,omitempty"`
	State       string    `json:"state"`
	Recipients  int       `json:"recipients,omitempty"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// statusReporter is a mail source that says how its server has been
// answering: *cache.Account does.
type statusReporter interface {
	Status() cache.AccountStatus
}

// controlDir returns the directory of the control sockets:
// $XDG_RUNTIME_DIR/mailfs, or /tmp/mailfs-UID without XDG_RUNTIME_DIR.
func controlDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "mailfs")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("mailfs-%d", os.Getuid()))
}

// controlPath returns the socket of the mailfs serving mountpoint.
func controlPath(mountpoint string) (string, error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs)))
	return filepath.Join(controlDir(), "control-"+hex.EncodeToString(sum[:8])+".sock"), nil
}

// errNotRunning says that no mailfs answers on a control socket.
var errNotRunning = errors.New("no mailfs is running")

// startControl listens on the control socket of mountpoint and answers
// requests about st until stop is called or ctx is cancelled. A socket
// another mailfs answers on is refused; a stale one (left by a mailfs
// that was killed) is replaced.
func startControl(ctx context.Context, mountpoint string, st *stack, log *slog.Logger) (stop func(), err error) {
	path, err := controlPath(mountpoint)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := statedir.Private(filepath.Dir(path), "control socket directory", log); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another mailfs is running for %s (it answers on %s)", mountpoint, path)
		}
		log.Info("removing a stale control socket", "path", path)
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	abs, _ := filepath.Abs(mountpoint)
	s := &controlServer{mountpoint: filepath.Clean(abs), st: st, log: log}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})
	wg.Go(func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				if ctx.Err() == nil {
					log.Error("control socket: accept failed; status, retry and sendmail no longer work", "err", err)
				}
				return
			}
			wg.Go(func() { s.serve(ctx, c) })
		}
	})
	log.Debug("control socket listening", "path", path)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}, nil
}

// controlServer answers the requests of one mount.
type controlServer struct {
	mountpoint string
	st         *stack
	log        *slog.Logger
}

// controlTimeout bounds a request's connection (reading a submitted
// message included).
const controlTimeout = 5 * time.Minute

// serve answers the one request of connection c.
func (s *controlServer) serve(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(controlTimeout))
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReader(c)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req controlRequest
	var resp controlResponse
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else {
		resp = s.answer(ctx, &req, br)
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

// answer carries out req; a submitted message is read from r.
func (s *controlServer) answer(ctx context.Context, req *controlRequest, r io.Reader) controlResponse {
	switch req.Op {
	case opStatus:
		return controlResponse{OK: true, Status: s.status()}
	case opRetry:
		if s.st.outbox == nil {
			return controlResponse{Error: "the mount has no outbox/ (no account has [accounts.smtp])"}
		}
		return controlResponse{OK: true, Count: s.st.outbox.RetryNow()}
	case opSubmit:
		return s.submit(ctx, req, r)
	}
	return controlResponse{Error: fmt.Sprintf("unknown request %q", req.Op)}
}

// submit queues the message of a submit request.
func (s *controlServer) submit(ctx context.Context, req *controlRequest, r io.Reader) controlResponse {
	if s.st.outbox == nil {
		return controlResponse{Error: "the mount has no outbox/ (no account has [accounts.smtp])"}
	}
	if req.Size < 0 {
		return controlResponse{Error: "bad request: negative size"}
	}
	msg := &exactReader{r: io.LimitReader(r, req.Size), want: req.Size}
	e, err := s.st.outbox.Submit(ctx, msg, &outbox.Submission{From: req.From, Recipients: req.Recipients, Extract: req.Extract})
	if err != nil {
		invalid := errors.Is(err, outbox.ErrInvalid) && !errors.Is(err, errShortMessage)
		if invalid {
			s.log.Info("sendmail: message refused", "err", err)
		} else {
			s.log.Warn("sendmail: message not queued", "err", err)
		}
		return controlResponse{Error: strings.TrimPrefix(err.Error(), "outbox: "), Invalid: invalid}
	}
	s.log.Info("sendmail: message queued", "name", e.Name, "account", e.Account, "recipients", len(e.Recipients))
	return controlResponse{OK: true, Name: e.Name}
}

// errShortMessage is the error of a submitted message cut short (the
// client went away).
var errShortMessage = errors.New("the message was cut short")

// exactReader reads want bytes from r and fails if r ends before.
type exactReader struct {
	r         io.Reader
	want, got int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.got += int64(n)
	if err == io.EOF && e.got < e.want {
		return n, fmt.Errorf("%w after %d of %d bytes", errShortMessage, e.got, e.want)
	}
	return n, err
}

// status collects the state of the mount.
func (s *controlServer) status() *daemonStatus {
	ds := &daemonStatus{Mountpoint: s.mountpoint, PID: os.Getpid(), Accounts: []accountStatus{}}
	for _, a := range s.st.accounts {
		as := accountStatus{Name: a.Name, State: "unknown"}
		switch src := a.Source.(type) {
		case *cache.Account:
			as.Kind = "IMAP"
			if ds.Cache == nil {
				used, max := src.Cache().Size()
				ds.Cache = &cacheStatus{Used: used, Max: max}
			}
		case *pop3store.Store:
			as.Kind = "POP3"
		}
		if r, ok := a.Source.(statusReporter); ok {
			st := r.Status()
			as.State = "online"
			if st.Offline {
				as.State = "offline"
			}
			as.OfflineSince, as.LastError, as.LastContact, as.LastSync = st.OfflineSince, st.LastError, st.LastContact, st.LastSync
		}
		ds.Accounts = append(ds.Accounts, as)
	}
	if ob := s.st.outbox; ob != nil {
		obs := &outboxStatus{Held: []outboxMessage{}, Waiting: []outboxMessage{}, Failed: []outboxMessage{}}
		if files, err := ob.Files(outbox.AreaOutbox); err == nil {
			for _, e := range files {
				if e.State == outbox.StateHeld {
					obs.Held = append(obs.Held, toMessage(e))
				}
			}
		}
		for _, e := range ob.Queued() {
			obs.Waiting = append(obs.Waiting, toMessage(e))
		}
		for _, e := range ob.Failed() {
			obs.Failed = append(obs.Failed, toMessage(e))
		}
		ds.Outbox = obs
	}
	return ds
}

func toMessage(e outbox.Entry) outboxMessage {
	return outboxMessage{
		Name: e.Name, Account: e.Account, State: e.State, Recipients: len(e.Recipients),
		Attempts: e.Attempts, NextAttempt: e.NextAttempt, LastError: e.LastError, Error: e.Error,
	}
}

// ask sends req (followed by body when not nil) to the mailfs whose
// socket is path and returns its response. Errors wrap errNotRunning when
// nothing answers there.
func ask(ctx context.Context, path string, req *controlRequest, body io.Reader) (*controlResponse, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNotRunning, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(c)
	w.Write(append(b, '\n'))
	if body != nil {
		if _, err := io.Copy(w, body); err != nil {
			return nil, fmt.Errorf("control socket %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	var resp controlResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("control socket %s: no answer: %w", path, err)
	}
	return &resp, nil
}

// errSeveral says that several mailfs run and none was named.
var errSeveral = errors.New("several mailfs are running")

// findDaemon returns the socket of the mailfs serving mountpoint, or with
// mountpoint "" the socket of the only one running. Errors wrap
// errNotRunning when there is none and errSeveral when there are several
// (the error lists their mountpoints).
func findDaemon(ctx context.Context, mountpoint string) (string, error) {
	if mountpoint != "" {
		path, err := controlPath(mountpoint)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%w for %s", errNotRunning, mountpoint)
		}
		return path, nil
	}
	paths, _ := filepath.Glob(filepath.Join(controlDir(), "control-*.sock"))
	type found struct{ path, mountpoint string }
	var live []found
	for _, p := range paths {
		resp, err := ask(ctx, p, &controlRequest{Op: opStatus}, nil)
		if err != nil || resp.Status == nil {
			continue // stale: its mailfs was killed
		}
		live = append(live, found{p, resp.Status.Mountpoint})
	}
	switch len(live) {
	case 0:
		return "", errNotRunning
	case 1:
		return live[0].path, nil
	}
	var mps []string
	for _, f := range live {
		mps = append(mps, f.mountpoint)
	}
	slices.Sort(mps)
	return "", fmt.Errorf("%w, for %s: name the MOUNTPOINT", errSeveral, strings.Join(mps, ", "))
}
