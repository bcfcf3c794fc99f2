package orgrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/orgsetup"
	"github.com/rootctl/rootctl/rootsession"
)

// judged is the time a test run judges risks at: the demo organization's
// "now" (a key used on 2026-11-20 is recent).
var judged = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// logFile is an audit log file whose writes fail: the write numbered
// failAt (from 1) and, when down, every one after it. The zero value
// never fails.
type logFile struct {
	mu     sync.Mutex
	failAt int
	down   bool
	writes int
	buf    bytes.Buffer
}

var errDiskFull = errors.New("no space left on device")

func (f *logFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.failAt > 0 && (f.writes == f.failAt || f.down && f.writes > f.failAt) {
		return 0, errDiskFull
	}
	return f.buf.Write(p)
}

func (f *logFile) Sync() error  { return nil }
func (f *logFile) Close() error { return nil }

// entries are the log's entries as "account action outcome".
func (f *logFile) entries(t *testing.T) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(f.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var e auditlog.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		out = append(out, e.Account+" "+e.Action+" "+e.Outcome)
	}
	return out
}

// testRun is a Run over the demo organization in an emulator, one account
// at a time, recording in file.
type testRun struct {
	*Run
	srv  *fixtures.Server
	file *logFile
}

// newRun starts the emulator with opts and returns a Run of sel on it,
// its Assumer recording every session in a journal writing to file.
func newRun(t *testing.T, opts fixtures.Options, sel orgscan.Selection, file *logFile) *testRun {
	t.Helper()
	srv := simtest.Demo(t, opts)
	c := srv.ManagementCredentials()
	cfg := simtest.Config(srv, c)
	lister, err := orgscan.NewLister(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	assumer := rootsession.NewAssumer(cfg)
	assumer.Prerequisites = orgsetup.Prerequisites(cfg)
	if file == nil {
		file = &logFile{}
	}
	journal := NewJournal(auditlog.New(file, "audit.log", "arn:aws:iam::111111111111:user/rootctl-operator", "SEC-42", time.Now))
	journal.Sessions(assumer)
	srv.ResetCalls()
	return &testRun{
		Run: &Run{Lister: lister, Assumer: assumer, Selection: sel, Concurrency: 1, Clock: func() time.Time { return judged }, Journal: journal},
		srv: srv, file: file,
	}
}

// changes lists the calls that change something, as "account Operation
// Code".
func (r *testRun) changes() []string {
	var out []string
	for _, c := range r.srv.Calls() {
		switch c.Operation {
		case "DeleteAccessKey", "DeleteSigningCertificate", "DeleteLoginProfile", "DeactivateMFADevice", "CreateLoginProfile":
			out = append(out, strings.TrimSpace(c.Account+" "+c.Operation+" "+c.Code))
		}
	}
	return out
}

// assumed lists the AssumeRoot calls' outcomes.
func (r *testRun) assumed() int {
	n := 0
	for _, c := range r.srv.Calls() {
		if c.Operation == "AssumeRoot" {
			n++
		}
	}
	return n
}

// operator is the user a test stands for: it locks, shows, says yes (or
// confirm's error) and keeps the reports.
type operator struct {
	mu      sync.Mutex
	confirm error
	lockErr error
	events  []string
	reports []JobRun
}

func (o *operator) note(s string) { o.mu.Lock(); o.events = append(o.events, s); o.mu.Unlock() }

func (o *operator) Lock(accounts []string) (func(), error) {
	o.note("lock " + strings.Join(accounts, ","))
	if o.lockErr != nil {
		return nil, o.lockErr
	}
	return func() { o.note("release") }, nil
}

func (o *operator) ShowPlan(r *JobRun) { o.note("show") }

func (o *operator) Confirm(n int, question string) error {
	o.note("confirm: " + question)
	return o.confirm
}

func (o *operator) Report(r *JobRun) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, "report")
	c := *r
	c.Accounts = append([]AccountJob(nil), r.Accounts...)
	o.reports = append(o.reports, c)
	return nil
}

func (o *operator) Note(text string) { o.note("note: " + strings.TrimSpace(text)) }

// last is the last report.
func (o *operator) last(t *testing.T) JobRun {
	t.Helper()
	if len(o.reports) == 0 {
		t.Fatal("no report")
	}
	return o.reports[len(o.reports)-1]
}

// brief sums an account up: "ID status [reason] [error] | item outcome, …".
func brief(a AccountJob) string {
	s := a.ID + " " + a.Status
	if a.Reason != "" {
		s += " reason=" + a.Reason
	}
	if a.Error != "" {
		s += " error=" + a.Error
	}
	var acts []string
	for i, act := range a.Actions {
		act := act.Item.String() + " " + act.Outcome
		if a.Actions[i].Error != "" {
			act += " (" + a.Actions[i].Error + ")"
		}
		acts = append(acts, act)
	}
	if len(acts) > 0 {
		s += " | " + strings.Join(acts, ", ")
	}
	for _, it := range a.Remaining {
		s += " | remaining " + it.String()
	}
	return s
}

func briefs(r JobRun) []string {
	var out []string
	for _, a := range r.Accounts {
		out = append(out, brief(a))
	}
	return out
}

// outcome reads RunJob's error as "class: text" ("" for nil).
func outcome(err error) string {
	if err == nil {
		return ""
	}
	var o *Outcome
	if !errors.As(err, &o) {
		return "not an Outcome: " + err.Error()
	}
	names := map[Class]string{OK: "ok", Findings: "findings", Partial: "partial", Timeout: "timeout", NotProvisioned: "not_provisioned",
		Failure: "failure", Usage: "usage", Interrupted: "interrupted"}
	if o.Err == nil {
		return names[o.Class]
	}
	return names[o.Class] + ": " + o.Err.Error()
}
