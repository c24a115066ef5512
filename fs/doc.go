// Package fs owns the filesystem that mailfs mounts: the go-fuse nodes for the
// mount root, the account and mailbox directories and the message files, the
// names and attributes the user sees, the kernel caching policy, and the one
// function (Errno) that turns errors into errno values.
//
// It knows nothing about protocols or the on-disk cache: each account is
// served by a Source (implemented by the cache for IMAP and by the POP3
// store), and every user-visible rule (file names, sizes, mtimes, modes) is
// decided here, as described in DESIGN.md.
//
// # Tree
//
//	MOUNT/<account>/<mailbox>/<sub-mailbox>/.../<message>.eml
//
// The root lists one directory per Account and never touches the network. An
// account directory shows the mailbox hierarchy reported by
// Source.Mailboxes, split at the mailbox delimiter into nested directories. A
// mailbox that cannot hold messages (\Noselect) and a parent that is only
// implied by its children (a/b listed without a) are directories holding
// only sub-directories; a selectable mailbox lists its messages as well.
//
// # Names
//
// Message files are named by FileName and recognised by ParseUID. A mailbox
// name component is shown as is (UTF-8), except that characters a file name
// cannot hold are replaced by look-alikes: "/" (possible when the delimiter
// is not "/") becomes U+2215 DIVISION SLASH '∕', NUL becomes U+2400 '␀',
// invalid UTF-8 becomes U+FFFD, and the components "." and ".." become
// U+FF0E FULLWIDTH FULL STOP ('．', '．．'). Mailboxes with an empty level
// (such as "a//b") are not shown.
//
// # Caching
//
// Message names, attributes and bodies are immutable, so the kernel keeps
// their entries and attributes for an hour and their pages across opens
// (FOPEN_KEEP_CACHE). Directories are revalidated every second and listed
// afresh (synced with the server when older than Options.StaleAfter) on each
// readdir, so new mail shows up in ls.
package fs
