// Package interop starts real mail servers from the Debian packages
// (Dovecot for IMAP, POP3 and LMTP; Postfix in front of it for SMTP) on
// loopback for interoperability tests.
//
// Each server runs as a private instance: its own configuration, state,
// mail and log under the test's temporary directory, its own free ports on
// 127.0.0.1, and no systemd. It is started by the test and stopped in
// t.Cleanup, also when the test fails, and every process it spawned is gone
// before the temporary directory is removed.
//
// The helpers that read or change server state (Deliver, Flags, Messages…)
// go through the server's own admin tool (doveadm), never through the code
// under test, so a test can check what the server really holds.
//
// When the packages are missing the tests are skipped; MAILFS_INTEROP=1
// turns the skip into a failure (for CI, which installs them).
package interop
