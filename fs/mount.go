package fs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/outbox"
)

// Kernel cache lifetimes and Source ages used by the nodes.
const (
	// fileTimeout is how long the kernel keeps a message's entry and
	// attributes: both are immutable.
	fileTimeout = time.Hour
	// dirTimeout is how long the kernel keeps a directory's entry and
	// attributes, short so that new mail shows.
	dirTimeout = time.Second
	// outboxTimeout is how long the kernel keeps the entry and attributes
	// of an outbox file: messages leave outbox/ when they are sent, and the
	// outbox does not tell.
	outboxTimeout = time.Second
	// negativeTimeout is how long the kernel remembers that a name does not
	// exist.
	negativeTimeout = time.Second
	// lookupMaxAge is the listing age Lookup accepts before asking the
	// server: a lookup must not cost a round trip per file.
	lookupMaxAge = time.Hour
	// defaultStaleAfter is the default of Options.StaleAfter.
	defaultStaleAfter = 5 * time.Second
)

// Account is one mail account shown as a directory under the mount root.
type Account struct {
	// Name is the directory name: non-empty, without "/" or NUL, not "."
	// or "..", unique among the accounts and not "outbox" (reserved for the
	// outbox at the root).
	Name string
	// Source serves the account's mailboxes, listings and bodies.
	Source Source
}

// Options configures Mount. A nil *Options means the defaults.
type Options struct {
	// Filenames is the message file name style: StyleDescriptive (the
	// default, also when empty) or StyleUID.
	Filenames string
	// Logger receives a line for every failed operation, with the account,
	// mailbox and UID. Nil means slog.Default().
	Logger *slog.Logger
	// StaleAfter is how long a listing is trusted: listing a directory
	// (readdir) whose mailbox was last checked longer ago syncs it with the
	// server first. Zero means 5s.
	StaleAfter time.Duration
	// Debug turns on go-fuse's trace of every FUSE request.
	Debug bool
	// Outbox, when not nil, is shown as MOUNT/outbox/: files copied there
	// are sent (see the package documentation). The caller runs and
	// closes it.
	Outbox *outbox.Outbox
	// TempDir holds a message being copied into a mailbox until its close
	// appends it (the file is unlinked at once, so nothing is left behind
	// by a crash). Empty means os.TempDir().
	TempDir string
	// OnNewMail, when not nil, is called with the paths, relative to the
	// mount point, of each batch of messages that a Watched Source reports
	// as new on the server (not after a UIDVALIDITY change, nor for a
	// mailbox's first listing), such as
	// "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml": the names
	// the mount shows, whether or not the directories were looked up. It
	// is called from a goroutine of the mount's, after the kernel was told
	// of the batch, in order and never concurrently for one account, and
	// not after the mount is gone.
	OnNewMail func(account string, paths []string)
	// ReadOnly mounts read-only (the "ro" mount option): every change
	// (rm, mv, mkdir, rmdir, cp into a folder, writes, truncation,
	// setfattr) fails with EROFS, every directory is 0500, and Outbox is
	// ignored (the mount has no outbox/).
	ReadOnly bool
	// AllowOther lets users other than the mounting one use the mount
	// (the "allow_other" mount option; a user other than root needs
	// user_allow_other in /etc/fuse.conf).
	AllowOther bool
	// DefaultPermissions makes the kernel check permission bits itself
	// (the "default_permissions" mount option), useful with AllowOther.
	DefaultPermissions bool

	// Searches keeps the saved searches (mkdir in an account's .search/)
	// across restarts; nil keeps them for the life of the mount.
	Searches SearchStore

	// wrapRaw, when set (by tests), wraps the filesystem the server
	// calls, outside the one that ignores interrupts.
	wrapRaw func(fuse.RawFileSystem) fuse.RawFileSystem
}

// mountState is what every node of one mount shares. It is immutable after
// Mount.
type mountState struct {
	style      string
	log        *slog.Logger
	staleAfter time.Duration
	uid, gid   uint32
	// started is the mtime of directories.
	started time.Time
	// outbox is Options.Outbox; nil when the mount has no outbox/.
	outbox  *outbox.Outbox
	tempDir string
	// searches is Options.Searches; readOnly is Options.ReadOnly.
	searches SearchStore
	readOnly bool
}

// reservedNames are root entries that accounts cannot use.
var reservedNames = map[string]bool{outboxDirName: true}

// Mount mounts the accounts at mountpoint and serves them until the returned
// server is unmounted (srv.Unmount(), or fusermount3 -u MOUNTPOINT); call
// srv.Wait() to wait for that. Only the mounting user can access the mount,
// unless Options.AllowOther.
//
// Run as root it mounts with mount(2) directly; otherwise it needs the
// fusermount3 helper from fuse3.
func Mount(mountpoint string, accounts []Account, opts *Options) (*fuse.Server, error) {
	st, err := newMountState(opts)
	if err != nil {
		return nil, err
	}
	if err := checkAccounts(accounts); err != nil {
		return nil, err
	}
	direct := os.Geteuid() == 0
	if !direct {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			if _, err := exec.LookPath("fusermount"); err != nil {
				return nil, errors.New("fusermount3 not found: install fuse3")
			}
		}
	}
	if fi, err := os.Stat(mountpoint); err != nil {
		return nil, fmt.Errorf("mount point: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("mount point %s is not a directory", mountpoint)
	}

	readOnlyMount := opts != nil && opts.ReadOnly
	root := &rootNode{st: st}
	for _, a := range accounts {
		if readOnlyMount {
			a = readOnlyAccount(a)
		}
		acct := &account{name: a.Name, src: a.Source, st: st, md: newMaildirState()}
		acct.searches = &searchState{acct: acct}
		root.accounts = append(root.accounts, acct)
	}
	entry, attr, negative := dirTimeout, dirTimeout, negativeTimeout
	mountOptions := []string{"nosuid", "nodev"}
	if readOnlyMount {
		mountOptions = append(mountOptions, "ro")
	}
	if opts != nil && opts.DefaultPermissions {
		mountOptions = append(mountOptions, "default_permissions")
	}
	fopts := &gofs.Options{
		MountOptions: fuse.MountOptions{
			FsName:      "mailfs",
			Name:        "mailfs",
			DirectMount: direct,
			Options:     mountOptions,
			AllowOther:  opts != nil && opts.AllowOther,
			Debug:       opts != nil && opts.Debug,
		},
		EntryTimeout:    &entry,
		AttrTimeout:     &attr,
		NegativeTimeout: &negative,
		UID:             st.uid,
		GID:             st.gid,
		Logger:          slog.NewLogLogger(st.log.Handler(), slog.LevelWarn),
	}
	// The kernel's INTERRUPT cancels no request (uninterruptible), and
	// attributes outside the user namespace are refused before any node
	// (userXattrs).
	var raw fuse.RawFileSystem = userXattrs{uninterruptible{gofs.NewNodeFS(root, fopts)}}
	if readOnlyMount {
		raw = readOnly{raw}
	}
	if opts != nil && opts.wrapRaw != nil {
		raw = opts.wrapRaw(raw)
	}
	srv, err := fuse.NewServer(raw, mountpoint, &fopts.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	stop := watchAccounts(root, opts.newMailFunc())
	go func() {
		srv.Serve()
		stop()
	}()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	return srv, nil
}

func newMountState(opts *Options) (*mountState, error) {
	if opts == nil {
		opts = &Options{}
	}
	st := &mountState{
		style:      opts.Filenames,
		log:        opts.Logger,
		staleAfter: opts.StaleAfter,
		uid:        uint32(os.Geteuid()),
		gid:        uint32(os.Getegid()),
		started:    time.Now(),
		outbox:     opts.Outbox,
		tempDir:    opts.TempDir,
		searches:   opts.Searches,
		readOnly:   opts.ReadOnly,
	}
	if opts.ReadOnly {
		st.outbox = nil
	}
	if st.tempDir == "" {
		st.tempDir = os.TempDir()
	}
	switch st.style {
	case "":
		st.style = StyleDescriptive
	case StyleDescriptive, StyleUID:
	default:
		return nil, fmt.Errorf("filenames: %q is not %q or %q", st.style, StyleDescriptive, StyleUID)
	}
	if st.log == nil {
		st.log = slog.Default()
	}
	if st.staleAfter <= 0 {
		st.staleAfter = defaultStaleAfter
	}
	return st, nil
}

func checkAccounts(accounts []Account) error {
	seen := make(map[string]bool)
	for _, a := range accounts {
		switch {
		case a.Name == "" || a.Name == "." || a.Name == ".." || strings.ContainsAny(a.Name, "/\x00"):
			return fmt.Errorf("account name %q cannot be a directory name", a.Name)
		case !utf8.ValidString(a.Name):
			return fmt.Errorf("account name %q is not valid UTF-8", a.Name)
		case len(a.Name) > 255:
			return fmt.Errorf("account name %q is longer than 255 bytes", a.Name)
		case reservedNames[a.Name]:
			return fmt.Errorf("account name %q is reserved", a.Name)
		case seen[a.Name]:
			return fmt.Errorf("account name %q is used twice", a.Name)
		case a.Source == nil:
			return fmt.Errorf("account %q has no source", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}
