package commands

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/preflight"
)

// verdicts renders a pre-flight report as account → the verdict of each
// task, in the report's task order ("ok ok blocked:p-d3m0rcp1 ok ok").
func verdicts(r PreflightReport) map[string]string {
	out := map[string]string{}
	for _, a := range r.Accounts {
		var vs []string
		for _, v := range a.Tasks {
			s := v.Verdict
			for _, c := range v.Causes {
				s += ":" + c.PolicyID
			}
			vs = append(vs, s)
		}
		out[a.ID] = a.Status + " " + strings.Join(vs, " ")
	}
	return out
}

// assumes counts the AssumeRoot calls the emulator answered.
func assumes(h *harness) int {
	n := 0
	for _, c := range h.srv.Calls() {
		if c.Operation == "AssumeRoot" {
			n++
		}
	}
	return n
}

func TestPreflightReportsEveryAccountOfTheDemo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("preflight", "-o", "json")
	if code != ExitFindings || stderr != "" {
		t.Fatalf("exit %d, want 3: %s", code, stderr)
	}
	r := parseJSON[PreflightReport](t, out)
	ok := "ok ok ok ok ok ok"
	legacy := "blocked" + strings.Repeat(" blocked:p-d3m0lgcy", 5)
	want := map[string]string{
		"111111111111": "skipped ", "444444444404": "skipped ", "555555555503": "skipped ",
		"222222222201": ok, "222222222202": ok, "333333333301": ok, "333333333302": ok, "333333333303": ok, "333333333304": ok,
		"444444444401": ok, "444444444402": ok, "444444444403": ok, "444444444405": ok, "555555555501": ok, "555555555502": ok,
		"666666666601": legacy, "666666666602": legacy,
		"888888888801": "blocked ok ok ok blocked:p-d3m0rcp1 ok",
	}
	if got := verdicts(r); !mapsEqual(got, want) {
		t.Fatalf("verdicts:\n got %v\nwant %v", got, want)
	}
	wantSummary := PreflightSummary{Accounts: 18, OK: 12, Blocked: 3, Skipped: 3, Requests: 18}
	if r.Summary != wantSummary || !slices.Equal(r.Tasks, []string{"audit", "create-password", "delete", "s3-unlock", "sqs-unlock"}) ||
		!slices.Equal(r.PolicyTypes, []string{preflight.SCP, preflight.RCP}) || len(r.CallerWide) != 0 || r.Caller != "arn:aws:iam::111111111111:user/rootctl-operator" {
		t.Fatalf("summary %+v, tasks %v, types %v, caller-wide %v, caller %s", r.Summary, r.Tasks, r.PolicyTypes, r.CallerWide, r.Caller)
	}
	// Nothing but reads: no root session, no change.
	for _, c := range h.srv.Calls() {
		if c.Service != "organizations" && c.Operation != "GetCallerIdentity" {
			t.Fatalf("preflight called %s:%s", c.Service, c.Operation)
		}
	}

	code, out, _ = h.run("preflight", "--ou", "ou-d3m0-restrict")
	for _, line := range []string{
		"│ 888888888801 │ data-vault │ ok    │ ok              │ ok     │ blocked [1] │ ok         │ -    │",
		"  [1] RCP p-d3m0rcp1 (ProtectBucketPolicies) statement DenyBucketPolicyChanges, attached to ou-d3m0-restrict, denies s3:PutBucketPolicy and 1 more action to root sessions\n",
		"      accounts: 888888888801\n",
		`      fix: add "Null": {"aws:AssumedRoot": "true"} to the Condition of statement DenyBucketPolicyChanges of RCP p-d3m0rcp1 (whether AWS exempts root sessions from RCPs is not documented), or have the policy changed by a principal the RCP exempts` + "\n",
		"1 accounts: 0 ok, 1 blocked, 0 unknown, 0 skipped, 0 errors (",
	} {
		if code != ExitFindings || !strings.Contains(out, line) {
			t.Fatalf("exit %d; the table lacks %q:\n%s", code, line, out)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPreflightExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want map[string]string
	}{
		{"nothing blocks the Production OU", []string{"--ou", "ou-d3m0-prod0001"}, ExitOK, nil},
		{"one task in the Legacy OU", []string{"--task", "delete", "--ou", "ou-d3m0-legacy01"}, ExitFindings,
			map[string]string{"666666666601": "blocked blocked:p-d3m0lgcy", "666666666602": "blocked blocked:p-d3m0lgcy"}},
		{"named accounts and two tasks, by alias and by policy name", []string{"888888888801", "333333333301", "--task", "sqs-unlock", "--task", "S3UnlockBucketPolicy"}, ExitFindings,
			map[string]string{"333333333301": "ok ok ok", "888888888801": "blocked ok blocked:p-d3m0rcp1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, out, stderr := h.run(append([]string{"preflight", "-o", "json"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if got := verdicts(parseJSON[PreflightReport](t, out)); tt.want != nil && !mapsEqual(got, tt.want) {
				t.Fatalf("verdicts %v, want %v", got, tt.want)
			}
		})
	}
}

// The demo's IAM delegated administrator may open root sessions for the
// audit task only (an SCP on its account, on sts:TaskPolicyArn).
func TestPreflightAsTheDelegatedAdministrator(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	h.creds = h.srv.Credentials("222222222201")
	code, out, stderr := h.run("preflight", "-o", "json", "--ou", "ou-d3m0-dev00001")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[PreflightReport](t, out)
	var wide []string
	for _, v := range r.CallerWide {
		wide = append(wide, v.Task+" "+v.Verdict+" "+v.Causes[0].PolicyID+" "+v.Causes[0].AttachedTo)
	}
	if !slices.Equal(wide, []string{"create-password blocked p-d3m0audt 222222222201", "delete blocked p-d3m0audt 222222222201",
		"s3-unlock blocked p-d3m0audt 222222222201", "sqs-unlock blocked p-d3m0audt 222222222201"}) {
		t.Fatalf("caller-wide %q", wide)
	}
	caller := "blocked ok" + strings.Repeat(" blocked:p-d3m0audt", 4)
	want := map[string]string{"444444444401": caller, "444444444402": caller, "444444444403": caller, "444444444404": "skipped ", "444444444405": caller}
	if got := verdicts(r); !mapsEqual(got, want) {
		t.Fatalf("verdicts %v\nwant %v", got, want)
	}
	_, out, _ = h.run("preflight", "--task", "delete", "444444444401")
	if !strings.Contains(out, "The caller's own SCPs refuse its AssumeRoot for delete in every account: see [1].\n") ||
		!strings.Contains(out, "  [1] SCP p-d3m0audt (DelegatedAdminRootAuditOnly) statement AssumeRootForAuditOnly, attached to 222222222201, denies sts:AssumeRoot to the caller\n") {
		t.Fatalf("table:\n%s", out)
	}
}

// TestBlockedAccountsAreNeverAssumedInto runs each command that acts as
// root over accounts a guardrail blocks: they are reported blocked with
// their cause, no AssumeRoot is asked for them, and the exit code is the
// one a failed account gives. With --no-preflight the sessions are asked
// for, and refused, as before the check existed.
func TestBlockedAccountsAreNeverAssumedInto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		code       int
		assumes    int // AssumeRoot calls
		unchecked  int // with --no-preflight
		stderrLine string
	}{
		{"audit of the whole organization", []string{"audit", "-o", "json"}, ExitPartial, 13, 15,
			"rootctl: 2 of 18 accounts are blocked by a guardrail, so they were not audited; see the causes in the report\n"},
		{"a dry run of delete", []string{"delete", "--all-accounts", "--reason", "r", "--dry-run", "-o", "json"}, ExitPartial, 13, 15,
			"rootctl: 2 of 18 accounts are blocked by a guardrail, so nothing was done there; see the causes in the report\n"},
		{"recovery in the Legacy OU", []string{"recovery", "--ou", "ou-d3m0-legacy01", "--reason", "r", "--yes", "-o", "json"}, ExitPartial, 0, 2,
			"rootctl: 2 of 2 accounts are blocked by a guardrail, so nothing was done there; see the causes in the report\n"},
		// Without the check, locks opens two sessions in each account: S3's
		// and, once it is issued, SQS's.
		{"locks in the Legacy OU", []string{"locks", "--ou", "ou-d3m0-legacy01", "--reason", "r", "-o", "json"}, ExitPartial, 0, 4,
			"rootctl: 2 accounts are blocked by a guardrail, so they were not checked; see the causes in the report\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, out, stderr := h.run(tt.args...)
			if code != tt.code || !strings.HasSuffix(stderr, tt.stderrLine) || strings.Count(stderr, "Warning") > 0 {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderrLine)
			}
			if n := assumes(h); n != tt.assumes {
				t.Fatalf("%d AssumeRoot calls, want %d", n, tt.assumes)
			}
			for _, id := range []string{"666666666601", "666666666602"} {
				if !strings.Contains(out, `"account_id": "`+id+`"`) || strings.Count(out, `"status": "blocked"`) < 2 ||
					!strings.Contains(out, `"policy_id": "p-d3m0lgcy"`) || !strings.Contains(out, `"fix": "add \"Null\": {\"aws:AssumedRoot\": \"true\"}`) {
					t.Fatalf("%s is not reported blocked with its cause and fix:\n%s", id, out)
				}
			}
			if log, err := os.ReadFile(filepath.Join(h.state, "audit.log")); err == nil && strings.Contains(string(log), "66666666660") {
				t.Fatalf("the audit log records a blocked account:\n%s", log)
			}

			unchecked := newHarness(t, demoOrg(t), fixtures.Options{})
			code, _, stderr = unchecked.run(append(tt.args, "--no-preflight")...)
			if code != tt.code || assumes(unchecked) != tt.unchecked || strings.Contains(stderr, "blocked") {
				t.Fatalf("--no-preflight: exit %d, %d AssumeRoot calls (want %d): %s", code, assumes(unchecked), tt.unchecked, stderr)
			}
		})
	}
}

func TestUnlockOfABlockedBucketAsksNoSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	args := []string{"unlock", "s3", "--account", "888888888801", "--bucket", "data-vault-exports", "--reason", "INC-9", "--yes"}
	code, out, stderr := h.run(args...)
	want := "rootctl: account 888888888801 is blocked by a guardrail, so no root session was asked for: RCP p-d3m0rcp1 (ProtectBucketPolicies) statement DenyBucketPolicyChanges, attached to ou-d3m0-restrict, denies s3:DeleteBucketPolicy to root sessions; fix: add \"Null\": {\"aws:AssumedRoot\": \"true\"} to the Condition of statement DenyBucketPolicyChanges of RCP p-d3m0rcp1 (whether AWS exempts root sessions from RCPs is not documented), or have the policy changed by a principal the RCP exempts (see: rootctl preflight 888888888801 --task s3-unlock)\n"
	if code != ExitFailure || out != "" || stderr != want || assumes(h) != 0 || len(backups(t, h)) != 0 {
		t.Fatalf("exit %d, stdout %q, %d AssumeRoot calls, %d backups\nstderr %q\nwant   %q", code, out, assumes(h), len(backups(t, h)), stderr, want)
	}
	// Without the check, the session is opened and the RCP refuses the
	// change half-way: the failure the check spares.
	code, _, stderr = h.run(append(args, "--no-preflight")...)
	if code != ExitFailure || assumes(h) != 1 || !strings.Contains(stderr, "resource control policy") {
		t.Fatalf("--no-preflight: exit %d, %d AssumeRoot calls: %s", code, assumes(h), stderr)
	}
}

func TestDelegatedAdministratorRefusedByItsOwnSCPStopsWithOneMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	h.creds = h.srv.Credentials("222222222201")
	code, out, stderr := h.run("delete", "--all-accounts", "--reason", "r", "--dry-run")
	want := "rootctl: AssumeRoot is refused for every account, so the run stopped; missing: an SCP of the caller's account that lets it call sts:AssumeRoot for IAMDeleteRootUserCredentials " +
		"(SCP p-d3m0audt (DelegatedAdminRootAuditOnly) statement AssumeRootForAuditOnly, attached to 222222222201, denies sts:AssumeRoot to the caller) " +
		"(run: rootctl from the management account, which SCPs never bind, or allow arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials in statement AssumeRootForAuditOnly of SCP p-d3m0audt (its sts:TaskPolicyArn condition)); nothing was changed\n"
	if code != ExitFailure || out != "" || stderr != want || assumes(h) != 0 {
		t.Fatalf("exit %d, stdout %q, %d AssumeRoot calls\nstderr %q\nwant   %q", code, out, assumes(h), stderr, want)
	}
	code, _, stderr = h.run("locks", "--reason", "r")
	if code != ExitFailure || !strings.Contains(stderr, "for S3UnlockBucketPolicy (SCP p-d3m0audt") || strings.Count(stderr, "\n") != 1 || assumes(h) != 0 {
		t.Fatalf("locks: exit %d, %d AssumeRoot calls: %s", code, assumes(h), stderr)
	}
	// Audit is the task it may ask for: the run goes on, the Legacy OU
	// blocked as for the management account.
	code, out, _ = h.run("audit", "-o", "json")
	if r := parseJSON[AuditReport](t, out); code != ExitPartial || r.Summary.Blocked != 2 || r.Summary.Audited != 13 || assumes(h) != 13 {
		t.Fatalf("audit: exit %d, %+v, %d AssumeRoot calls", code, r.Summary, assumes(h))
	}
	// Without the check, each account's AssumeRoot is refused in turn.
	h.srv.ResetCalls()
	code, out, _ = h.run("delete", "--all-accounts", "--reason", "r", "--dry-run", "-o", "json", "--no-preflight")
	if r := parseJSON[JobReport](t, out); code != ExitPartial || r.Summary.Errors != 15 || assumes(h) != 15 {
		t.Fatalf("--no-preflight: exit %d, %+v, %d AssumeRoot calls", code, r.Summary, assumes(h))
	}
}

// A check that cannot read or decide leaves the run as it was before the
// check existed, and says so once.
func TestAnUndecidedCheckLeavesTheRunAsBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		org     func(*fixtures.Org)
		faults  map[string]string
		warning string
	}{
		// (A refused ListRoots also leaves the OU names unread, a warning
		// of its own: TestUnreadableOUNamesLeaveIDs.)
		{"ListPolicies is refused", nil, map[string]string{"organizations:ListPolicies": "AccessDeniedException"},
			"Warning: pre-flight: 15 accounts were attempted without the guardrail check: reading the organization's SCPs and RCPs: ListPolicies: AccessDeniedException:"},
		{"a statement rootctl cannot evaluate", func(org *fixtures.Org) {
			for i, p := range org.Policies {
				if p.ID == "p-d3m0lgcy" {
					org.Policies[i].Content = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"aws:PrincipalArn":"cm9vdA=="}}}]}`
				}
			}
		}, nil, "Warning: pre-flight: 2 accounts were attempted though a guardrail statement may refuse them (rootctl cannot evaluate it; see: rootctl preflight)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := demoOrg(t)
			if tt.org != nil {
				tt.org(org)
			}
			h := newHarness(t, org, fixtures.Options{OpFaults: tt.faults})
			code, out, stderr := h.run("audit", "-o", "json")
			r := parseJSON[AuditReport](t, out)
			if code != ExitPartial || r.Summary.Errors != 2 || r.Summary.Blocked != 0 || assumes(h) != 15 || !strings.Contains(stderr, tt.warning) || strings.Count(stderr, "Warning") != 1 {
				t.Fatalf("exit %d, %+v, %d AssumeRoot calls; stderr %q, want %q", code, r.Summary, assumes(h), stderr, tt.warning)
			}
			for _, a := range r.Accounts {
				if strings.HasPrefix(a.ID, "66666666660") && (a.Status != orgrun.StatusError || a.ErrorCode != "AccessDenied") {
					t.Fatalf("%s: %s %s, want the emulator's AccessDenied", a.ID, a.Status, a.ErrorCode)
				}
			}
		})
	}
}

// TestAccountsWaitingForTheirGuardrailsHoldNoSlot: while the guardrails
// some accounts need are still being read (every ListPoliciesForTarget
// held), the accounts that need none of them are audited, even one at a
// time: an account waiting for its check holds no session slot.
func TestAccountsWaitingForTheirGuardrailsHoldNoSlot(t *testing.T) {
	t.Parallel()
	// The accounts under OUs without an SCP of their own (Security's
	// 222222222202, Development), ACTIVE.
	free := []string{"222222222202", "444444444401", "444444444402", "444444444403", "444444444405"}
	var mu sync.Mutex
	audited := map[string]bool{}
	var waited atomic.Bool
	h := newHarness(t, reportOrg(t), fixtures.Options{
		OnCall: func(c fixtures.Call) {
			if c.Operation == "GetAccountSummary" {
				mu.Lock()
				audited[c.Account] = true
				mu.Unlock()
			}
		},
		Hold: func(ctx context.Context, c fixtures.Call) {
			if c.Operation != "ListPoliciesForTarget" {
				return
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				n := 0
				for _, id := range free {
					if audited[id] {
						n++
					}
				}
				mu.Unlock()
				if n == len(free) {
					return
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					waited.Store(true)
					return
				}
			}
		},
	})
	code, out, stderr := h.run("audit", "-o", "json", "--concurrency", "1")
	r := parseJSON[AuditReport](t, out)
	if code != ExitFindings || r.Summary.Errors != 0 || waited.Load() {
		t.Fatalf("exit %d, %+v; the free accounts waited for the others' guardrails: %t; stderr %s", code, r.Summary, waited.Load(), stderr)
	}
}
