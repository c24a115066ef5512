package interop

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// InteropEnv is the environment variable that turns a missing server into a
// test failure instead of a skip. CI sets MAILFS_INTEROP=1 after installing
// the packages, so that a broken installation cannot pass unnoticed.
const InteropEnv = "MAILFS_INTEROP"

// Paths of the Debian Dovecot programs the helpers run.
const (
	dovecotBin = "/usr/sbin/dovecot"
	doveadmBin = "/usr/bin/doveadm"
	// dovecotLibexec holds the per-protocol daemons of dovecot-imapd,
	// dovecot-pop3d and dovecot-lmtpd.
	dovecotLibexec = "/usr/lib/dovecot"
)

// RequireDovecot skips the test when Dovecot with its IMAP, POP3 and LMTP
// daemons is not installed, or fails it when MAILFS_INTEROP=1.
func RequireDovecot(t testing.TB) {
	t.Helper()
	if err := dovecotInstalled(); err != nil {
		if os.Getenv(InteropEnv) == "1" {
			t.Fatalf("%v; %s=1 requires it", err, InteropEnv)
		}
		t.Skipf("%v; set %s=1 to make this a failure", err, InteropEnv)
	}
}

// dovecotInstalled returns an error naming what is missing and the
// packages to install when Dovecot with its IMAP, POP3 and LMTP daemons is
// not installed.
func dovecotInstalled() error {
	var missing []string
	for _, p := range []string{
		dovecotBin,
		doveadmBin,
		dovecotLibexec + "/imap",
		dovecotLibexec + "/pop3",
		dovecotLibexec + "/lmtp",
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd; missing: %s)", strings.Join(missing, ", "))
}
