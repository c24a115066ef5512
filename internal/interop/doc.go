// Package interop starts real mail servers from the Debian packages
// (Dovecot for IMAP, POP3 and LMTP; Postfix in front of it for SMTP) on
// loopback for interoperability tests and benchmarks.
//
// Each server runs as a private instance: its own configuration, state,
// mail and log in a temporary directory, its own free ports on 127.0.0.1,
// and no systemd. StartDovecot and StartPostfix start one for a test and
// stop it in t.Cleanup, also when the test fails; LaunchDovecot starts a
// Dovecot without a test (for cmd/mailbench) and its Close stops it. Either
// way every process the server spawned is gone before its directory is
// removed.
//
// The helpers that read or change server state (Deliver, Flags, Messages,
// Count…) go through the server's own admin tool (doveadm), never through
// the code under test, so a test can check what the server really holds.
// Seed fills Maildirs with many messages at once by writing the files
// directly and letting Dovecot index them.
//
// When the packages are missing the tests are skipped; MAILFS_INTEROP=1
// turns the skip into a failure (for CI, which installs them).
package interop
