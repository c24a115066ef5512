// Package remotetest runs in-process mail servers on loopback for tests and
// for `mailfs demo`, in the manner of net/http/httptest: NewIMAP(t) starts an
// IMAP server on 127.0.0.1:0 and stops it in t.Cleanup. Each server has hooks
// to inject mail and faults.
package remotetest
