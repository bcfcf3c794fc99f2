package preflight

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

func demo(t *testing.T, edit func(*fixtures.Org)) *fixtures.Server {
	t.Helper()
	org, err := fixtures.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(org)
	}
	return simtest.Start(t, org, fixtures.Options{})
}

// legacyPaths is 666666666601's place in the demo, as ListAccounts gives it.
var legacyPaths = []string{"o-demo7rootctl/r-d3m0/ou-d3m0-legacy01/666666666601/"}

func TestDemoVerdictsNameTheCauseAndTheFix(t *testing.T) {
	t.Parallel()
	allAudit := rootsession.Audit.Actions()
	tests := []struct {
		name    string
		caller  string
		subject Subject
		want    Verdict
	}{
		{"a legacy deny-root SCP on the OU blocks every action", "111111111111",
			Subject{Account: "666666666601", Paths: legacyPaths, Task: rootsession.Audit},
			Verdict{Task: "audit", Verdict: Blocked, Causes: []Cause{{Verdict: Blocked, Deny: Explicit, PolicyType: SCP, PolicyID: "p-d3m0lgcy",
				PolicyName: "LegacyDenyRootUser", Sid: "GRRESTRICTROOTUSER", AttachedTo: "ou-d3m0-legacy01", Actions: allAudit,
				Fix: `add "Null": {"aws:AssumedRoot": "true"} to the Condition of statement GRRESTRICTROOTUSER of SCP p-d3m0lgcy, as AWS's sample SCP does, so that it spares root sessions`}}}},
		{"only the actions the run calls are judged", "111111111111",
			Subject{Account: "666666666601", Task: rootsession.Audit, Actions: []string{"iam:GetAccountSummary"}},
			Verdict{Task: "audit", Verdict: Blocked, Causes: []Cause{{Verdict: Blocked, Deny: Explicit, PolicyType: SCP, PolicyID: "p-d3m0lgcy",
				PolicyName: "LegacyDenyRootUser", Sid: "GRRESTRICTROOTUSER", AttachedTo: "ou-d3m0-legacy01", Actions: []string{"iam:GetAccountSummary"},
				Fix: `add "Null": {"aws:AssumedRoot": "true"} to the Condition of statement GRRESTRICTROOTUSER of SCP p-d3m0lgcy, as AWS's sample SCP does, so that it spares root sessions`}}}},
		{"AWS's sample SCP spares root sessions, in a nested OU too", "111111111111",
			Subject{Account: "333333333303", Task: rootsession.Delete}, Verdict{Task: "delete", Verdict: OK}},
		{"the Control Tower control enabled with ExemptAssumeRoot spares them", "111111111111",
			Subject{Account: "555555555501", Task: rootsession.Delete}, Verdict{Task: "delete", Verdict: OK}},
		{"an RCP without the exemption blocks the bucket policy's writes", "111111111111",
			Subject{Account: "888888888801", Task: rootsession.S3Unlock, Resource: &Resource{Name: "data-vault-exports"}},
			Verdict{Task: "s3-unlock", Verdict: Blocked, Causes: []Cause{{Verdict: Blocked, Deny: Explicit, PolicyType: RCP, PolicyID: "p-d3m0rcp1",
				PolicyName: "ProtectBucketPolicies", Sid: "DenyBucketPolicyChanges", AttachedTo: "ou-d3m0-restrict",
				Actions: []string{"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
				Fix:     `add "Null": {"aws:AssumedRoot": "true"} to the Condition of statement DenyBucketPolicyChanges of RCP p-d3m0rcp1 (whether AWS exempts root sessions from RCPs is not documented), or have the policy changed by a principal the RCP exempts`}}}},
		{"the RCP does not bind SQS", "111111111111",
			Subject{Account: "888888888801", Task: rootsession.SQSUnlock}, Verdict{Task: "sqs-unlock", Verdict: OK}},
		{"the delegated administrator's own SCP blocks AssumeRoot for delete", "222222222201",
			Subject{Account: "444444444401", Task: rootsession.Delete},
			Verdict{Task: "delete", Verdict: Blocked, Causes: []Cause{{Verdict: Blocked, Deny: Explicit, PolicyType: SCP, PolicyID: "p-d3m0audt",
				PolicyName: "DelegatedAdminRootAuditOnly", Sid: "AssumeRootForAuditOnly", AttachedTo: "222222222201", Caller: true, Actions: []string{"sts:AssumeRoot"},
				Fix: "allow arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials in statement AssumeRootForAuditOnly of SCP p-d3m0audt (its sts:TaskPolicyArn condition), or run rootctl from the management account, which SCPs never bind"}}}},
		{"and lets it audit", "222222222201", Subject{Account: "444444444401", Task: rootsession.Audit}, Verdict{Task: "audit", Verdict: OK}},
		{"the management account's calls are never bound", "111111111111", Subject{Account: "444444444401", Task: rootsession.Delete}, Verdict{Task: "delete", Verdict: OK}},
	}
	srv := demo(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []Mode{PerTarget, Index} {
				got, err := newChecker(t, srv, tt.caller, tt.caller, mode).Check(context.Background(), tt.subject)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("mode %d:\n got %+v\nwant %+v", mode, got, tt.want)
				}
			}
		})
	}
}

func TestControlTowerWithoutTheExemptionIsNamed(t *testing.T) {
	t.Parallel()
	srv := demo(t, func(org *fixtures.Org) {
		for i, p := range org.Policies {
			if p.ID == "p-d3m0ctrt" { // the control enabled without ExemptAssumeRoot
				org.Policies[i].Content = `{"Version":"2012-10-17","Statement":[{"Sid":"GRRESTRICTROOTUSER","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:*:iam::*:root"]}}}]}`
			}
		}
	})
	got, err := newChecker(t, srv, "111111111111", "111111111111", Index).Check(context.Background(), Subject{Account: "555555555501", Task: rootsession.CreatePassword})
	if err != nil {
		t.Fatal(err)
	}
	want := "this is AWS Control Tower's control AWS-GR_RESTRICT_ROOT_USER: enable it again on ou-d3m0-sandbox1 with the parameter ExemptAssumeRoot set to true (Control Tower console, or UpdateEnabledControl); do not edit the SCP, which Control Tower manages"
	if got.Verdict != Blocked || len(got.Causes) != 1 || got.Causes[0].Fix != want ||
		got.Causes[0].Summary() != "SCP p-d3m0ctrt (aws-guardrails-RestrictRootUser) statement GRRESTRICTROOTUSER, attached to ou-d3m0-sandbox1, denies iam:GetLoginProfile and 1 more action to root sessions" {
		t.Fatalf("got %+v\nsummary %q", got, got.Causes[0].Summary())
	}
}

func TestUnknownNamesWhatCannotBeEvaluated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, want string
		verdict             string
		detach              bool // FullAWSAccess from the Legacy OU
	}{
		{"an operator rootctl does not evaluate", `{"Statement":{"Sid":"Geo","Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`,
			"SCP p-d3m0lgcy (LegacyDenyRootUser) statement Geo, attached to ou-d3m0-legacy01, may deny iam:GetLoginProfile and 1 more action to root sessions: rootctl cannot evaluate the condition operator IpAddress", Unknown, false},
		{"a key rootctl does not know", `{"Statement":{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}}`,
			"SCP p-d3m0lgcy (LegacyDenyRootUser), attached to ou-d3m0-legacy01, may deny iam:GetLoginProfile and 1 more action to root sessions: rootctl cannot evaluate the condition key aws:RequestedRegion", Unknown, false},
		{"an unknown Deny does not hide a certain one", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},{"Sid":"Root","Effect":"Deny","Action":"iam:CreateLoginProfile","Resource":"*"}]}`,
			"SCP p-d3m0lgcy (LegacyDenyRootUser) statement Root, attached to ou-d3m0-legacy01, denies iam:CreateLoginProfile to root sessions", Blocked, false},
		{"an Allow-only SCP that cannot be evaluated, with FullAWSAccess detached", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}}}`,
			"cannot tell whether an SCP attached to ou-d3m0-legacy01 allows iam:GetLoginProfile and 1 more action to root sessions: rootctl cannot evaluate the condition operator NumericLessThan", Unknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := demo(t, func(org *fixtures.Org) {
				for i, p := range org.Policies {
					if p.ID == "p-d3m0lgcy" {
						org.Policies[i].Content = fixtures.Policy(tt.content)
					}
					if p.ID == "p-FullAWSAccess" && tt.detach { // detached from the Legacy OU
						org.Policies[i].Targets = slices.DeleteFunc(slices.Clone(p.Targets), func(t string) bool { return t == "ou-d3m0-legacy01" })
					}
				}
			})
			got, err := newChecker(t, srv, "111111111111", "111111111111", PerTarget).Check(context.Background(), Subject{Account: "666666666601", Task: rootsession.CreatePassword})
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.verdict || len(got.Causes) != 1 || got.Causes[0].Summary() != tt.want {
				t.Fatalf("got %+v\nwant %s: %s", got, tt.verdict, tt.want)
			}
			if c := got.Causes[0]; tt.verdict == Unknown && c.Deny == Explicit && (c.Statement == "" || !strings.HasPrefix(c.Fix, "rootctl cannot evaluate")) {
				t.Fatalf("an unknown verdict must show its statement and say to read it: %+v", c)
			}
		})
	}
}

// orgCalls counts the Organizations requests srv answered, by operation.
func orgCalls(srv *fixtures.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		if c.Service == "organizations" {
			out[c.Operation]++
		}
	}
	return out
}

func TestEachTargetAndPolicyIsReadOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mode  Mode
		paths bool
		want  map[string]int
	}{
		// 15 ACTIVE members; targets: the root, 7 OUs, 15 accounts, each
		// listed once per type; 7 policies described once each.
		{"per target, the parents from the listing's paths", PerTarget, true,
			map[string]int{"ListRoots": 1, "ListPoliciesForTarget": 2 * (1 + 7 + 15), "DescribePolicy": 7}},
		// Without paths, ListParents once per account and per OU met.
		{"per target, the parents asked for", PerTarget, false,
			map[string]int{"ListRoots": 1, "ListParents": 15 + 7, "ListPoliciesForTarget": 2 * (1 + 7 + 15), "DescribePolicy": 7}},
		// Index: the policies of each type, the targets of the five custom
		// ones, and the lists of the four targets with an SCP of their own
		// (Production, Sandbox, Legacy, the delegated administrator).
		{"index", Index, true,
			map[string]int{"ListRoots": 1, "ListPolicies": 2, "ListTargetsForPolicy": 5, "ListPoliciesForTarget": 4, "DescribePolicy": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := demo(t, nil)
			accts := members(t, srv)
			srv.ResetCalls()
			c := newChecker(t, srv, "111111111111", "111111111111", tt.mode)
			for range 2 { // a second pass reads nothing more
				for _, a := range accts {
					for _, task := range rootsession.Tasks() {
						s := Subject{Account: a.ID, Task: task}
						if tt.paths {
							s.Paths = a.Paths
						}
						if _, err := c.Check(context.Background(), s); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if got := orgCalls(srv); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Organizations calls %v\nwant %v", got, tt.want)
			}
			if got := c.Reader().Calls(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("the reader counts %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyTypesNotEnabledAreNotRead(t *testing.T) {
	t.Parallel()
	srv := demo(t, func(org *fixtures.Org) { org.PolicyTypes, org.Policies = nil, nil })
	c := newChecker(t, srv, "222222222201", "222222222201", PerTarget)
	got, err := c.Check(context.Background(), Subject{Account: "666666666601", Paths: legacyPaths, Task: rootsession.Delete})
	if err != nil || got.Verdict != OK {
		t.Fatalf("%+v, %v", got, err)
	}
	if calls := orgCalls(srv); !reflect.DeepEqual(calls, map[string]int{"ListRoots": 1}) {
		t.Fatalf("calls %v: with no policy type enabled, nothing but ListRoots", calls)
	}
}

func TestReadsArePaced(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var waits []time.Duration
	b := newBucket(Rate{PerSecond: 5, Burst: 8}, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	})
	for range 12 {
		if err := b.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 8 at once (the burst), then one every 200 ms after the clock's now.
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond}
	if !reflect.DeepEqual(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	now = now.Add(2 * time.Second) // the queue drained, 2 s of tokens back (of 8 at most): 6 at once
	waits = nil
	for range 7 {
		b.wait(context.Background())
	}
	if !reflect.DeepEqual(waits, []time.Duration{200 * time.Millisecond}) {
		t.Fatalf("after 2 s: waits %v, want one of 200ms", waits)
	}
}

func TestModeFor(t *testing.T) {
	t.Parallel()
	ids := func(n int) []string { return slices.Repeat([]string{"111122223333"}, n) }
	for _, tt := range []struct {
		name string
		n    int
		ou   string
		want Mode
	}{{"a few named accounts", 3, "", PerTarget}, {"twenty named accounts", 20, "", PerTarget}, {"many named accounts", 21, "", Index},
		{"an OU", 0, "ou-ab12-cdef3456", Index}, {"the whole organization", 0, "", Index}} {
		sel := orgscanSelection(ids(tt.n), tt.ou)
		if got := ModeFor(sel); got != tt.want {
			t.Errorf("%s: mode %d, want %d", tt.name, got, tt.want)
		}
	}
}

func orgscanSelection(ids []string, ou string) orgscan.Selection {
	return orgscan.Selection{Accounts: ids, OU: ou}
}

// TestTheFirstCheckReadsAtOnce: the first check of an account reads the
// policies of every level of its chain at once, and the index the targets
// of every policy at once: each kind of read is held until a second one is
// in flight beside it (a check reading one level, or one policy, at a time
// never has two).
func TestTheFirstCheckReadsAtOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode Mode
		op   string
	}{
		{PerTarget, "ListPoliciesForTarget"}, // root, Legacy OU and account: three levels
		{Index, "ListTargetsForPolicy"},      // the demo's custom policies
	} {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			var inFlight, peak atomic.Int32
			org, err := fixtures.Load("demo")
			if err != nil {
				t.Fatal(err)
			}
			srv := simtest.Start(t, org, fixtures.Options{Hold: func(ctx context.Context, c fixtures.Call) {
				if c.Operation != tt.op {
					return
				}
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for peak.Load() < n && !peak.CompareAndSwap(peak.Load(), n) {
				}
				for deadline := time.Now().Add(2 * time.Second); peak.Load() < 2 && time.Now().Before(deadline) && ctx.Err() == nil; {
					time.Sleep(time.Millisecond)
				}
			}})
			c := newChecker(t, srv, "111111111111", "111111111111", tt.mode)
			if _, err := c.Check(context.Background(), Subject{Account: "666666666601", Paths: legacyPaths, Task: rootsession.Audit}); err != nil {
				t.Fatal(err)
			}
			if peak.Load() < 2 {
				t.Fatalf("%s: at most %d in flight, want the reads at once", tt.op, peak.Load())
			}
		})
	}
}
