package provision

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// emulator starts the demo organization with opts and returns it and the
// management account's configuration.
func emulator(t *testing.T, opts fixtures.Options) (*fixtures.Server, aws.Config) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	c := srv.ManagementCredentials()
	return srv, simtest.Config(srv, c)
}

// memFile is an audit log file in memory.
type memFile struct{ strings.Builder }

func (*memFile) Sync() error  { return nil }
func (*memFile) Close() error { return nil }

// checker returns a Checker of the emulator's organization, recording in
// a log in memory, and the locks it took.
func checker(t *testing.T, cfg aws.Config) (*Checker, *[]string) {
	t.Helper()
	lister, err := orgscan.NewLister(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	assumer := rootsession.NewAssumer(cfg)
	journal := orgrun.NewJournal(auditlog.New(&memFile{}, "audit.log", "caller", "SEC-42", time.Now))
	journal.Sessions(assumer)
	var mu sync.Mutex
	var events []string
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	return &Checker{
		Run: &orgrun.Run{Lister: lister, Assumer: assumer, Concurrency: 1, Journal: journal},
		Lock: func(account string) (func(), error) {
			note("lock " + account)
			return func() { note("release " + account) }, nil
		},
		Waiting: func(account, state string) { note("waiting " + account + " " + state) },
	}, &events
}

// The post-provisioning check audits a new account's root user and, when
// asked, removes what it finds; an account that cannot be checked says why.
func TestCheckerCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       fixtures.Options
		account    string
		remediate  bool
		wait       time.Duration // the time allowed to become ACTIVE; 0: a minute
		wantStatus string
		wantError  string
		wantFinal  string // the final root user's status; "" when not audited
		wantActs   []string
		wantEvents []string
	}{
		{"a compliant account", fixtures.Options{}, "222222222201", true, 0, orgrun.StatusCompliant, "", orgrun.StatusCompliant, nil, nil},
		{"root credentials found and left", fixtures.Options{}, "444444444405", false, 0, orgrun.StatusRootCredentials, "", orgrun.StatusRootCredentials, nil, nil},
		{"root credentials found and removed", fixtures.Options{}, "444444444405", true, 0, orgrun.StatusCompliant, "", orgrun.StatusCompliant,
			[]string{"access_key AKIA3DEMO0DEVEVERY01 deleted", "signing_certificate DEMOCERT4444444444050000 deleted", "password deleted",
				"mfa_device arn:aws:iam::444444444405:mfa/root-account-mfa-device deleted"},
			[]string{"lock 444444444405", "release 444444444405"}},
		{"a removal AWS refuses", fixtures.Options{OpFaults: map[string]string{"iam:DeleteLoginProfile": "AccessDenied"}}, "444444444405", true, 0,
			orgrun.StatusRemediationFailed, "password: AccessDenied: iam DeleteLoginProfile failed (injected by the simulator)", orgrun.StatusRootCredentials,
			[]string{"access_key AKIA3DEMO0DEVEVERY01 deleted", "signing_certificate DEMOCERT4444444444050000 deleted", "password failed",
				"mfa_device arn:aws:iam::444444444405:mfa/root-account-mfa-device not_done"},
			[]string{"lock 444444444405", "release 444444444405"}},
		{"a suspended account", fixtures.Options{}, "444444444404", true, 0, orgrun.StatusNotProvisioned,
			"account 444444444404 is SUSPENDED: account will not become ACTIVE", "", nil, []string{"waiting 444444444404 SUSPENDED"}},
		{"an account the organization does not have", fixtures.Options{}, "999999999999", true, 0, orgrun.StatusError,
			"account 999999999999: not an account of this organization o-demo7rootctl", "", nil, nil},
		{"an account whose root user cannot be audited", fixtures.Options{AssumeRootFaults: map[string]string{"222222222201": "AccessDenied"}}, "222222222201", true, 0,
			orgrun.StatusError, "AssumeRoot IAMAuditRootUserCredentials: AccessDenied: ", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := emulator(t, tt.opts)
			ch, events := checker(t, cfg)
			wait := tt.wait
			if wait == 0 {
				wait = time.Minute
			}
			waitCtx, cancel := WithTimeout(context.Background(), wait)
			defer cancel()
			var c Checked
			ch.Check(context.Background(), waitCtx, &c, tt.account, tt.remediate)
			if c.Account.ID != tt.account || c.Status != tt.wantStatus || !strings.HasPrefix(c.Error, tt.wantError) || (tt.wantError == "") != (c.Error == "") {
				t.Fatalf("checked %s: %s %q, want %s %q", c.Account.ID, c.Status, c.Error, tt.wantStatus, tt.wantError)
			}
			final := ""
			if c.Final != nil {
				final = c.Final.Status
			}
			if final != tt.wantFinal || (c.Found == nil) != (tt.wantFinal == "") {
				t.Fatalf("final %q (found %v), want %q", final, c.Found, tt.wantFinal)
			}
			var acts []string
			for _, a := range c.Actions {
				acts = append(acts, a.Item.String()+" "+a.Outcome)
			}
			if !slices.Equal(acts, tt.wantActs) || c.Actions == nil {
				t.Fatalf("actions %q, want %q", acts, tt.wantActs)
			}
			if !slices.Equal(*events, tt.wantEvents) {
				t.Fatalf("told %q, want %q", *events, tt.wantEvents)
			}
			if acct, ok := srv.Account(tt.account); ok && tt.wantStatus == orgrun.StatusCompliant && !acct.Root.Empty() {
				t.Fatalf("root user left with %+v", acct.Root)
			}
		})
	}
}

// A new account is created, waited for until ACTIVE, and moved into its
// OU; an account that never activates times out with the state it was
// left in.
func TestCreateWaitAndMove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		activation time.Duration // ActivationDelay; negative: never
		wantErr    error
		wantState  string
	}{
		{"an account that activates", 0, nil, "ACTIVE"},
		{"an account that never activates times out", -1, ErrTimeout, "PENDING_ACTIVATION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := emulator(t, fixtures.Options{ActivationDelay: tt.activation})
			ctx := context.Background()
			c, err := Create(ctx, cfg, Request{Name: "payments-staging", Email: "payments-staging@example.com", Tags: []Tag{{"team", "payments"}}})
			if err != nil || c.State != InProgress || c.RequestID == "" || c.AccountID != "" {
				t.Fatalf("Create: %+v, %v", c, err)
			}
			var polled []string
			done, err := WaitCreated(ctx, cfg, c.RequestID, func(c Creation) { polled = append(polled, c.State) })
			if err != nil || done.State != Succeeded || done.AccountID == "" || polled[len(polled)-1] != Succeeded {
				t.Fatalf("WaitCreated: %+v, %v (polled %q)", done, err, polled)
			}
			lister, err := orgscan.NewLister(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			waitCtx, cancel := WithTimeout(ctx, 600*time.Millisecond)
			defer cancel()
			tg, err := WaitActive(waitCtx, lister, done.AccountID, nil)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) || tg.State != tt.wantState {
				t.Fatalf("WaitActive: %+v, %v; want %s, %v", tg, err, tt.wantState, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			var from []string
			moved, err := Move(ctx, cfg, done.AccountID, "ou-d3m0-dev00001", func(f string) error { from = append(from, f); return nil })
			if !moved || err != nil || !slices.Equal(from, []string{"r-d3m0"}) {
				t.Fatalf("Move: %v, %v (from %q)", moved, err, from)
			}
			moved, err = Move(ctx, cfg, done.AccountID, "ou-d3m0-dev00001", func(string) error { t.Fatal("moved again"); return nil })
			if moved || err != nil {
				t.Fatalf("Move again: %v, %v; want nothing to do", moved, err)
			}
			if a, _ := srv.Account(done.AccountID); a.Parent != "ou-d3m0-dev00001" || a.Tags["team"] != "payments" {
				t.Fatalf("account %+v", a)
			}
		})
	}
}

// A move that cannot be recorded first is not sent.
func TestMoveNotSentWhenBeforeFails(t *testing.T) {
	t.Parallel()
	srv, cfg := emulator(t, fixtures.Options{})
	full := errors.New("no space left on device")
	moved, err := Move(context.Background(), cfg, "222222222201", "ou-d3m0-dev00001", func(string) error { return full })
	if moved || !errors.Is(err, full) || err.Error() != "MoveAccount 222222222201 not sent: no space left on device" {
		t.Fatalf("Move: %v, %v", moved, err)
	}
	for _, c := range srv.Calls() {
		if c.Operation == "MoveAccount" {
			t.Fatal("MoveAccount was sent")
		}
	}
}

// An interrupted wait says so, not that it timed out.
func TestWaitActiveInterrupted(t *testing.T) {
	t.Parallel()
	_, cfg := emulator(t, fixtures.Options{})
	lister, err := orgscan.NewLister(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c Checked
	c.Account.ID = "222222222201"
	_, err = WaitActive(ctx, lister, "222222222201", nil)
	c.Fail(ctx, err)
	if !errors.Is(err, context.Canceled) || c.Status != orgrun.StatusInterrupted || c.Error != "interrupted" {
		t.Fatalf("WaitActive: %v; checked %s %q", err, c.Status, c.Error)
	}
}
