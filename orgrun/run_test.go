package orgrun

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// RunJob changes nothing unless every account was planned and the user
// said yes; what it did say is shown, reported and ends the run.
func TestRunJobStopsBeforeAnyChange(t *testing.T) {
	t.Parallel()
	no := errors.New("not confirmed")
	taken := errors.New("account 333333333304 is locked by another rootctl run")
	tests := []struct {
		name    string
		ctx     context.Context // nil: Ctrl-C once AWS has answered the first AssumeRoot
		sel     orgscan.Selection
		job     Job
		dryRun  bool
		op      *operator
		setup   func(srv *fixtures.Server)
		want    string // RunJob's outcome
		events  []string
		wantRun []string // the last report; nil: none
	}{
		{"a dry run locks and changes nothing", context.Background(), threeAccounts, keysAndCerts, true, &operator{}, nil, "",
			[]string{"show", "report", "note: Dry run: nothing was changed."},
			[]string{
				"333333333304 planned | access_key AKIA3DEMO0PRODAPI001 planned, access_key AKIA3DEMO0PRODAPI002 planned",
				"444444444401 planned | signing_certificate DEMOCERT4444444444010000 planned",
				"444444444405 planned | access_key AKIA3DEMO0DEVEVERY01 planned, signing_certificate DEMOCERT4444444444050000 planned",
			}},
		{"the user says no", context.Background(), threeAccounts, keysAndCerts, false, &operator{confirm: no}, nil, "not an Outcome: not confirmed",
			[]string{"lock 333333333304,444444444401,444444444405", "show", "confirm: delete 5 credentials in 3 accounts", "release"}, nil},
		{"another run holds a lock", context.Background(), threeAccounts, keysAndCerts, false, &operator{lockErr: taken}, nil,
			"not an Outcome: account 333333333304 is locked by another rootctl run",
			[]string{"lock 333333333304,444444444401,444444444405"}, nil},
		{"Ctrl-C while planning", nil, orgscan.Selection{Accounts: []string{"333333333304"}}, keysAndCerts, false, &operator{}, nil,
			"interrupted: interrupted while planning: nothing was changed", []string{"report"},
			[]string{"333333333304 interrupted reason=interrupted while this account was inspected; nothing was changed"}},
		{"the organization refuses every AssumeRoot", context.Background(), threeAccounts, keysAndCerts, false, &operator{}, func(srv *fixtures.Server) {
			srv.Update(func(o *fixtures.Org) { o.Features = nil })
		}, "failure: AssumeRoot is refused for every account, so the run stopped; missing: the RootCredentialsManagement feature (run: rootctl enable --credentials-management); nothing was changed",
			nil, nil},
		{"a selection that matches no account", context.Background(), orgscan.Selection{Accounts: []string{"333333333304"}, Exclude: []string{"333333333304"}}, keysAndCerts, false, &operator{}, nil,
			"usage: no account of the organization matches the selection, so nothing was changed", nil, nil},
		{"nothing to change", context.Background(), orgscan.Selection{Accounts: []string{"222222222201", "444444444404"}}, keysAndCerts, false, &operator{}, nil, "",
			[]string{"note: Nothing to change.", "report"},
			[]string{"222222222201 nothing_to_do", "444444444404 skipped reason=account is SUSPENDED"}},
		{"every step held back", context.Background(), orgscan.Selection{Accounts: []string{"444444444405"}}, DeleteJob(rootcreds.Kinds{MFA: true}, nil), false, &operator{}, nil,
			"findings: 1 risky steps were held back, so those credentials remain",
			[]string{"show", "note: Nothing to change.", "report"},
			[]string{"444444444405 held | mfa_device arn:aws:iam::444444444405:mfa/root-account-mfa-device held"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, opts := ctrlC(tt.ctx)
			run := newRun(t, opts, tt.sel, nil)
			if tt.setup != nil {
				tt.setup(run.srv)
			}
			err := RunJob(ctx, run.Run, tt.job, tt.dryRun, tt.op)
			if got := outcome(err); got != tt.want {
				t.Fatalf("RunJob: %s\nwant %s", got, tt.want)
			}
			if c := run.changes(); len(c) != 0 {
				t.Fatalf("changes sent: %q", c)
			}
			if !slices.Equal(tt.op.events, tt.events) {
				t.Fatalf("operator told %q\nwant %q", tt.op.events, tt.events)
			}
			if tt.wantRun != nil {
				if got := briefs(tt.op.last(t)); !slices.Equal(got, tt.wantRun) {
					t.Fatalf("accounts\n%q\nwant\n%q", got, tt.wantRun)
				}
			}
		})
	}
}

// ctrlC returns ctx, or when it is nil a context cancelled (Ctrl-C) as
// soon as AWS has answered the first AssumeRoot, and the emulator options
// that cancel it.
func ctrlC(ctx context.Context) (context.Context, fixtures.Options) {
	if ctx != nil {
		return ctx, fixtures.Options{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, fixtures.Options{OnCall: func(c fixtures.Call) {
		if c.Operation == "AssumeRoot" {
			cancel()
		}
	}}
}

// RecoveryJob creates a login profile without a password where there is
// none, and leaves an account with a password alone.
func TestRecoveryJob(t *testing.T) {
	t.Parallel()
	run := newRun(t, fixtures.Options{}, orgscan.Selection{Accounts: []string{"222222222201", "333333333301"}}, nil)
	op := &operator{}
	if err := RunJob(context.Background(), run.Run, RecoveryJob(), false, op); err != nil {
		t.Fatalf("RunJob: %s", outcome(err))
	}
	want := []string{"222222222201 done | password created", "333333333301 nothing_to_do reason=the root user already has a password"}
	if got := briefs(op.last(t)); !slices.Equal(got, want) {
		t.Fatalf("accounts %q, want %q", got, want)
	}
	if c := run.changes(); !slices.Equal(c, []string{"222222222201 CreateLoginProfile"}) {
		t.Fatalf("changes %q", c)
	}
	if !slices.Contains(op.events, "confirm: enable password recovery in 1 account") {
		t.Fatalf("operator told %q", op.events)
	}
	s := op.last(t).Summary
	if s != (JobSummary{Accounts: 2, Done: 1, NothingToDo: 1, Changes: 1}) {
		t.Fatalf("summary %+v", s)
	}
}

// audited is a test's account record for Survey: what audit reports.
type audited struct {
	Result
	Findings *rootcreds.Findings
}

var auditCheck = Check[audited, *audited]{
	Task:    rootsession.Audit,
	Before:  "interrupted before this account was audited",
	During:  "interrupted while this account was being audited",
	Recheck: true,
	Inspect: func(ctx context.Context, lease *rootsession.Lease, r *audited) (string, error) {
		f, _, err := rootcreds.Audit(ctx, lease)
		if err != nil {
			return "", err
		}
		r.Findings = f
		return RootStatus(f), nil
	},
}

// Survey reads every selected account as the listing arrives, skips what
// AssumeRoot cannot target, and decides each account the same way.
func TestSurvey(t *testing.T) {
	t.Parallel()
	const (
		mgmt      = "111111111111 skipped reason=management account (AssumeRoot cannot target it)"
		suspended = "444444444404 skipped reason=account is SUSPENDED"
		closing   = "555555555503 skipped reason=account is PENDING_CLOSURE"
	)
	tests := []struct {
		name         string
		opts         fixtures.Options
		concurrency  int // 0: DefaultConcurrency
		sel          orgscan.Selection
		setup        func(run *testRun)
		want         []string
		wantListed   Listed
		wantAssumed  int
		wantHaltedBy bool
		ctrlC        bool // Ctrl-C once AWS has answered the first AssumeRoot
	}{
		{"the whole organization", fixtures.Options{}, 0, orgscan.Selection{}, nil, []string{
			mgmt, "222222222201 compliant", "222222222202 compliant", "333333333301 root_credentials", "333333333302 root_credentials",
			"333333333303 root_credentials", "333333333304 root_credentials", "444444444401 root_credentials", "444444444402 compliant",
			"444444444403 compliant", suspended, "444444444405 root_credentials", "555555555501 compliant", "555555555502 root_credentials", closing,
			// No pre-flight check in this run: the Legacy OU's deny-root
			// SCP refuses the session's first call, an error of each account.
			"666666666601 error error=AccessDenied: User: arn:aws:iam::666666666601:root is not authorized to perform: iam:GetAccountSummary on resource: * with an explicit deny in a service control policy: arn:aws:organizations::111111111111:policy/o-demo7rootctl/service_control_policy/p-d3m0lgcy",
			"666666666602 error error=AccessDenied: User: arn:aws:iam::666666666602:root is not authorized to perform: iam:GetAccountSummary on resource: * with an explicit deny in a service control policy: arn:aws:organizations::111111111111:policy/o-demo7rootctl/service_control_policy/p-d3m0lgcy",
			"888888888801 compliant",
		}, Listed{Accounts: 18}, 15, false, false},
		{"an account denied is that account's error", fixtures.Options{AssumeRootFaults: map[string]string{"222222222202": "AccessDenied"}}, 0,
			orgscan.Selection{OU: "ou-d3m0-security"}, nil, []string{
				"222222222201 compliant",
				"222222222202 error error=AssumeRoot IAMAuditRootUserCredentials: AccessDenied: User: arn:aws:iam::111111111111:user/rootctl-operator is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::222222222202:root (injected by the simulator) (the caller must be the management account or the IAM delegated administrator and allowed sts:AssumeRoot, no SCP may deny it, and the target must be an ACTIVE member account; check: rootctl status)",
			}, Listed{Accounts: 2}, 2, false, false},
		{"an account suspended since the listing is skipped", fixtures.Options{AssumeRootFaults: map[string]string{"333333333303": "AccessDenied"}}, 0,
			orgscan.Selection{Accounts: []string{"333333333303"}}, func(run *testRun) {
				if err := run.Lister.Check(context.Background(), run.Selection); err != nil { // the listing, as it was
					t.Fatal(err)
				}
				run.srv.Update(func(o *fixtures.Org) {
					for i := range o.Accounts {
						if o.Accounts[i].ID == "333333333303" {
							o.Accounts[i].State = fixtures.StateSuspended
						}
					}
				})
			}, []string{"333333333303 skipped reason=account is SUSPENDED (changed since the listing)"}, Listed{Accounts: 1}, 1, false, false},
		{"the organization refuses AssumeRoot: one call, the rest not reached", fixtures.Options{}, 1,
			orgscan.Selection{Accounts: []string{"222222222201", "222222222202"}}, func(run *testRun) {
				if err := run.Lister.Check(context.Background(), run.Selection); err != nil { // both listed at once
					t.Fatal(err)
				}
				run.srv.Update(func(o *fixtures.Org) { o.Features = nil })
			}, []string{
				"222222222201 interrupted reason=" + NotRunReason,
				"222222222202 interrupted reason=" + NotRunReason,
			}, Listed{Accounts: 2}, 1, true, false},
		{"Ctrl-C while an account is audited", fixtures.Options{}, 0, orgscan.Selection{Accounts: []string{"222222222201"}}, nil,
			[]string{"222222222201 interrupted reason=interrupted while this account was being audited"}, Listed{Accounts: 1, Interrupted: true}, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.ctrlC {
				ctx, tt.opts = ctrlC(nil)
			}
			run := newRun(t, tt.opts, tt.sel, nil)
			run.Concurrency = tt.concurrency
			if tt.setup != nil {
				tt.setup(run)
				run.srv.ResetCalls()
			}
			var c Collector[audited, *audited]
			listed := Survey(ctx, run.Run, auditCheck, c.Add)
			var got []string
			for _, a := range c.Sorted() {
				got = append(got, brief(AccountJob{Result: a.Result}))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("accounts\n%q\nwant\n%q", got, tt.want)
			}
			if (listed.Halted != nil) != tt.wantHaltedBy || listed.Accounts != tt.wantListed.Accounts ||
				listed.Interrupted != tt.wantListed.Interrupted || listed.Err != nil {
				t.Fatalf("listed %+v, want %+v (halted: %v)", listed, tt.wantListed, tt.wantHaltedBy)
			}
			if n := run.assumed(); n != tt.wantAssumed {
				t.Fatalf("%d AssumeRoot calls, want %d", n, tt.wantAssumed)
			}
		})
	}
}

// A failed listing is the run's failure with its consequence; an OU that
// is not there is the input's.
func TestListedOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  fixtures.Options
		sel   orgscan.Selection
		empty string // Listed.Empty's outcome
	}{
		{"the listing is refused", fixtures.Options{OpFaults: map[string]string{"organizations:ListAccounts": "AccessDeniedException"}}, orgscan.Selection{},
			"failure: listing accounts failed, so the report is incomplete: AccessDeniedException: organizations ListAccounts failed (injected by the simulator) (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)"},
		{"an OU that is not there", fixtures.Options{}, orgscan.Selection{OU: "ou-d3m0-nothere1"}, "usage: ou-d3m0-nothere1: no such OU or root in this organization"},
		{"a selection whose every account is excluded", fixtures.Options{}, orgscan.Selection{Accounts: []string{"222222222201"}, Exclude: []string{"222222222201"}},
			"usage: no account of the organization matches the selection, so nothing was audited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := newRun(t, tt.opts, tt.sel, nil)
			listed := Survey(context.Background(), run.Run, auditCheck, func(*audited) {})
			if got := outcome(listed.Empty("the report is incomplete", "nothing was audited")); got != tt.empty {
				t.Fatalf("Empty: %s\nwant %s", got, tt.empty)
			}
			if listed.Err != nil {
				o := listed.Listing("the report is incomplete")
				if got := outcome(&o); got != tt.empty {
					t.Fatalf("Listing: %s\nwant %s", got, tt.empty)
				}
			}
		})
	}
}
