package outbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/outbox"
	"mailfs/remote"
	"mailfs/remote/remotetest"
	"mailfs/remote/smtp"
)

// send100 is the number of messages queued per benchmark iteration.
const send100 = 100

// benchMessages returns n sample messages of 2 to 4 KB addressed to
// alice@example.org, the one user of the default Postfix instance.
func benchMessages(n int) [][]byte {
	to := regexp.MustCompile(`(?m)^To: .*\r\n`)
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = to.ReplaceAll(remotetest.SampleMessage(i), []byte("To: alice@example.org\r\n"))
	}
	return msgs
}

// BenchmarkSend100 compares sending 100 messages through a real Postfix
// (delivering to a real Dovecot over LMTP) with mailfs's outbox and SMTP
// sender, against msmtp run once per message, as a user would script it.
// An iteration ends when Postfix has accepted every message (for mailfs:
// when the outbox queue is empty). Each sub-benchmark reports msgs/s;
// mailfs also reports mailfs/msmtp, its rate divided by msmtp's rate
// measured just before in the same run (msmtp runs first for that reason).
//
// On Linux loopback most of msmtp's time per message is not its start-up:
// it writes the final ".\r\n" of DATA as a small segment without
// TCP_NODELAY, so Nagle's algorithm holds it until Postfix's delayed ACK,
// about 40 ms (seen with strace between the dot and "250 2.0.0 Ok").
// Go sets TCP_NODELAY. mailfs also keeps one connection for the burst.
//
//	go test -run '^$' -bench Send100 ./outbox
func BenchmarkSend100(b *testing.B) {
	interop.RequireDovecot(b)
	interop.RequirePostfix(b)
	msmtp := interop.RequireMsmtp(b)
	d := interop.StartDovecot(b, nil)
	p := interop.StartPostfix(b, &interop.PostfixOptions{Dovecot: d})
	msgs := benchMessages(send100)

	var msmtpRate float64
	b.Run("msmtp", func(b *testing.B) {
		args := []string{"--host=" + p.Host, "--port=" + strconv.Itoa(p.Port), "--from=bob@example.com", "--tls=off", "--auth=off", "--", "alice@example.org"}
		for b.Loop() {
			for _, m := range msgs {
				cmd := exec.Command(msmtp, args...)
				cmd.Stdin = bytes.NewReader(m)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("msmtp %v: %v\n%s\npostfix log:\n%s", args, err, out, p.LogTail(20))
				}
			}
		}
		msmtpRate = float64(send100*b.N) / b.Elapsed().Seconds()
		b.ReportMetric(msmtpRate, "msgs/s")
	})

	b.Run("mailfs", func(b *testing.B) {
		sender := smtp.New(&smtp.Options{Server: remote.Server{Account: "bench", Host: p.Host, Port: p.Port, TLS: remote.TLSNone}})
		defer sender.Close()
		o, err := outbox.Open(&outbox.Options{
			Dir: b.TempDir(),
			Accounts: []outbox.Account{{
				Name:      "bench",
				Addresses: []string{"bob@example.com"},
				Default:   true,
				Sender:    sender,
			}},
		})
		if err != nil {
			b.Fatalf("open outbox: %v", err)
		}
		defer o.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- o.Run(ctx) }()
		defer func() {
			cancel()
			<-ran
		}()

		for b.Loop() {
			for i, m := range msgs {
				name := fmt.Sprintf("msg-%d.eml", i)
				draft, err := o.Create(name)
				if err != nil {
					b.Fatalf("create %s: %v", name, err)
				}
				if _, err := draft.WriteAt(m, 0); err != nil {
					b.Fatalf("write %s: %v", name, err)
				}
				if err := draft.Commit(); err != nil {
					b.Fatalf("commit %s: %v", name, err)
				}
			}
			waitSent(b, o, p)
		}
		rate := float64(send100*b.N) / b.Elapsed().Seconds()
		b.ReportMetric(rate, "msgs/s")
		if msmtpRate > 0 {
			b.ReportMetric(rate/msmtpRate, "mailfs/msmtp")
		}
	})
}

// waitSent waits until the outbox queue is empty and nothing failed.
func waitSent(b *testing.B, o *outbox.Outbox, p *interop.Postfix) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(o.Queued()) > 0 {
		if time.Now().After(deadline) {
			q := o.Queued()
			b.Fatalf("outbox: got %d messages still queued after 2m (first: %+v), want 0\npostfix log:\n%s", len(q), q[0], p.LogTail(20))
		}
		time.Sleep(time.Millisecond)
	}
	if f := o.Failed(); len(f) > 0 {
		b.Fatalf("outbox: got %d failed messages (first: %s: %s), want 0", len(f), f[0].Name, f[0].Error)
	}
}
