package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"mailfs/fs"
	"mailfs/internal/config"
	"mailfs/remote/remotetest"
)

// demoConfig is the config of the demo accounts; the %d are the ports of
// the in-process servers.
const demoConfig = `
[[accounts]]
name = "demo"
addresses = ["alice@example.org"]
default = true
  [accounts.imap]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "user"
  password = "pass"
  sent_folder = "Sent"
  trash_folder = "Trash"
  [accounts.smtp]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "user"
  password = "pass"

[[accounts]]
name = "demo-pop"
addresses = ["alice@old-isp.example"]
  [accounts.pop3]
  host = "127.0.0.1"
  port = %d
  tls = "none"
  username = "user"
  password = "pass"
  poll_interval = "30s"
`

// cmdDemo serves built-in sample accounts from in-process servers on
// loopback and mounts them: the whole product without a config. Mail
// copied into outbox/ is delivered by the demo SMTP server into the demo
// IMAP INBOX, whoever it is addressed to.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseFlags("demo", args, stderr, false, 1)
	if err != nil {
		return err
	}
	log := newLogger(stderr, f.verbose)

	imapSrv, err := remotetest.StartIMAP(nil)
	if err != nil {
		return fmt.Errorf("demo IMAP server: %w", err)
	}
	defer imapSrv.Close()
	if err := remotetest.Seed(imapSrv); err != nil {
		return fmt.Errorf("demo sample mail: %w", err)
	}
	for _, mb := range []string{"Sent", "Trash"} {
		if err := imapSrv.CreateMailbox(mb); err != nil {
			return fmt.Errorf("demo %s folder: %w", mb, err)
		}
	}
	smtpSrv, err := remotetest.StartSMTP(&remotetest.SMTPOptions{
		Username: "user", Password: "pass",
		Deliver: func(_ string, _ []string, data []byte) error {
			_, err := imapSrv.Append("INBOX", data, nil, time.Now())
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("demo SMTP server: %w", err)
	}
	defer smtpSrv.Close()
	popSrv, err := remotetest.StartPOP3(nil)
	if err != nil {
		return fmt.Errorf("demo POP3 server: %w", err)
	}
	defer popSrv.Close()
	for i := range 5 {
		popSrv.Add(remotetest.SampleMessage(i))
	}

	cfg, err := config.Parse(fmt.Appendf(nil, demoConfig, imapSrv.Port(), smtpSrv.Port(), popSrv.Port()), "demo config")
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	root, err := os.MkdirTemp("", "mailfs-demo-")
	if err != nil {
		return fmt.Errorf("demo state directory: %w", err)
	}
	defer os.RemoveAll(root)
	st, err := buildStack(cfg, dirs{cache: filepath.Join(root, "cache"), data: filepath.Join(root, "data")}, log)
	if err != nil {
		return err
	}
	defer st.close()

	mountpoint := pos[0]
	fmt.Fprintf(stdout, "mailfs demo: IMAP %s, SMTP %s, POP3 %s on loopback; mounting at %s\n", imapSrv.Addr, smtpSrv.Addr, popSrv.Addr, mountpoint)
	fmt.Fprintf(stdout, "try:  ls %[1]s/demo/INBOX   grep -rli invoice %[1]s   cp msg.eml %[1]s/outbox/   mv/rm a message   (Ctrl-C to unmount)\n", mountpoint)
	return serve(ctx, mountpoint, true, st, &fs.Options{Logger: log, Debug: f.verbose && os.Getenv("MAILFS_FUSE_DEBUG") != ""}, log)
}
