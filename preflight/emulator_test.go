package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// noPacing reads as fast as the emulator answers.
var noPacing = map[string]Rate{"ListRoots": {}, "ListParents": {}, "ListPoliciesForTarget": {}, "ListPolicies": {},
	"ListTargetsForPolicy": {}, "DescribePolicy": {}}

// newChecker judges for caller, reading srv's organization with reader's
// credentials, in mode.
func newChecker(t testing.TB, srv *fixtures.Server, reader, caller string, mode Mode) *Checker {
	t.Helper()
	org := srv.Org()
	r, err := NewReader(context.Background(), simtest.Config(srv, srv.Credentials(reader)), org.ID, ReaderOptions{Mode: mode, Rates: noPacing})
	if err != nil {
		t.Fatal(err)
	}
	return NewChecker(r, org.ManagementAccount, Caller{ARN: "arn:aws:iam::" + caller + ":user/rootctl-operator", Account: caller}, "us-east-1")
}

// withResources gives every member account a bucket and a queue of its
// own, pf-ACCOUNT, so that the S3 and SQS tasks have something to act on.
func withResources(org *fixtures.Org) {
	for i := range org.Accounts {
		a := &org.Accounts[i]
		if a.ID == org.ManagementAccount {
			continue
		}
		a.Buckets = append(a.Buckets, fixtures.Bucket{Name: "pf-" + a.ID, Region: "us-east-1"})
		a.Queues = append(a.Queues, fixtures.Queue{Name: "pf-" + a.ID, Region: "us-east-1"})
	}
}

// outcome is what the emulator did with one action: refused by a
// guardrail or not.
type outcome struct {
	action  string
	refused bool
	detail  string
}

// guardrailRefusal says whether err is AWS's refusal by an SCP or an RCP
// (AccessDenied "… in a service control policy", "… resource control
// policy", or "no service control policy allows …").
func guardrailRefusal(err error) bool {
	if err == nil || !strings.HasPrefix(awserr.Code(err), "AccessDenied") {
		return false
	}
	return strings.Contains(err.Error(), "control policy")
}

// attempt does what a run would: AssumeRoot from caller for task in
// account, then each of the task's actions on the account's bucket or
// queue. assumed is false when AssumeRoot was refused (outcomes then holds
// sts:AssumeRoot only).
func attempt(t testing.TB, srv *fixtures.Server, caller, account string, task rootsession.Task) []outcome {
	t.Helper()
	ctx := context.Background()
	a := rootsession.NewAssumer(simtest.Config(srv, srv.Credentials(caller)))
	s, err := a.Assume(ctx, account, task, 0)
	if err != nil {
		if !strings.HasPrefix(awserr.Code(err), "AccessDenied") {
			t.Fatalf("AssumeRoot %s %s from %s: %v", account, task.Name, caller, err)
		}
		return []outcome{{action: "sts:AssumeRoot", refused: guardrailRefusal(err), detail: err.Error()}}
	}
	out := []outcome{{action: "sts:AssumeRoot"}}
	cfg := s.Config
	name := "pf-" + account
	queueURL := srv.URL() + "/" + account + "/" + name
	iamc := iam.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sqsc := sqs.NewFromConfig(cfg)
	calls := map[string]func() error{
		"iam:GetAccountSummary": func() error { _, err := iamc.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}); return err },
		"iam:GetLoginProfile":   func() error { _, err := iamc.GetLoginProfile(ctx, &iam.GetLoginProfileInput{}); return err },
		"iam:ListAccessKeys":    func() error { _, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); return err },
		"iam:GetAccessKeyLastUsed": func() error {
			_, err := iamc.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAPREFLIGHT0000001")})
			return err
		},
		"iam:ListMFADevices": func() error { _, err := iamc.ListMFADevices(ctx, &iam.ListMFADevicesInput{}); return err },
		"iam:ListSigningCertificates": func() error {
			_, err := iamc.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{})
			return err
		},
		"iam:GetUser":            func() error { _, err := iamc.GetUser(ctx, &iam.GetUserInput{}); return err },
		"iam:CreateLoginProfile": func() error { _, err := iamc.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{}); return err },
		"iam:DeleteLoginProfile": func() error { _, err := iamc.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); return err },
		"iam:DeleteAccessKey": func() error {
			_, err := iamc.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAPREFLIGHT0000001")})
			return err
		},
		"iam:DeactivateMFADevice": func() error {
			_, err := iamc.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String("arn:aws:iam::" + account + ":mfa/preflight")})
			return err
		},
		"iam:DeleteSigningCertificate": func() error {
			_, err := iamc.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{CertificateId: aws.String("PREFLIGHTCERT000000000000")})
			return err
		},
		"s3:ListAllMyBuckets": func() error { _, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{}); return err },
		"s3:GetBucketPolicy": func() error {
			_, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
			return err
		},
		"s3:PutBucketPolicy": func() error {
			_, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + name + `/*"}]}`)})
			return err
		},
		"s3:DeleteBucketPolicy": func() error {
			_, err := s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(name)})
			return err
		},
		"sqs:ListQueues": func() error { _, err := sqsc.ListQueues(ctx, &sqs.ListQueuesInput{}); return err },
		"sqs:GetQueueUrl": func() error {
			_, err := sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name), QueueOwnerAWSAccountId: aws.String(account)})
			return err
		},
		"sqs:GetQueueAttributes": func() error {
			_, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
			return err
		},
		"sqs:SetQueueAttributes": func() error {
			_, err := sqsc.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(queueURL), Attributes: map[string]string{"Policy": ""}})
			return err
		},
	}
	for _, act := range task.Actions() {
		call, ok := calls[act]
		if !ok {
			t.Fatalf("no call for %s", act)
		}
		err := call()
		if err != nil && strings.Contains(err.Error(), "session policy") {
			t.Fatalf("%s in a %s session of %s: refused by something else than a guardrail: %v", act, task.Name, account, err)
		}
		out = append(out, outcome{action: act, refused: guardrailRefusal(err), detail: fmt.Sprint(err)})
	}
	return out
}

// tally counts the verdicts compared, so a test can show it met each.
type tally struct {
	mu     sync.Mutex
	counts counts
}

type counts struct{ ok, blocked, unknown, callerBlocked int }

// compare checks the checker's verdict of every action of task in account
// against what the emulator does with it: blocked exactly when the call is
// refused, ok only when it is not, unknown only where a statement uses
// what rootctl does not evaluate (unsupported policies: their IDs).
func compare(t *testing.T, srv *fixtures.Server, c *Checker, caller string, acct orgscan.Account, task rootsession.Task, unsupported map[string]bool, tl *tally) {
	t.Helper()
	results, err := c.check(context.Background(), Subject{Account: acct.ID, Paths: acct.Paths, Task: task,
		Resource: &Resource{Name: "pf-" + acct.ID}})
	if err != nil {
		t.Fatal(err)
	}
	predicted := map[string]actionResult{"sts:AssumeRoot": {action: "sts:AssumeRoot", verdict: OK}}
	for _, r := range results {
		predicted[r.action] = r
	}
	for _, o := range attempt(t, srv, caller, acct.ID, task) {
		p := predicted[o.action]
		where := fmt.Sprintf("caller %s, account %s, task %s, action %s", caller, acct.ID, task.Alias, o.action)
		switch p.verdict {
		case Blocked:
			if !o.refused {
				t.Errorf("%s: predicted blocked (%+v), but the emulator did not refuse it (%s)", where, p.causes, o.detail)
			}
		case OK:
			if o.refused {
				t.Errorf("%s: predicted ok, but the emulator refused it: %s", where, o.detail)
			}
		case Unknown:
			for _, cause := range p.causes {
				if cause.Unsupported == "" || (cause.PolicyID != "" && !unsupported[cause.PolicyID]) {
					t.Errorf("%s: unknown because of %+v, which uses nothing rootctl leaves unevaluated", where, cause)
				}
			}
		}
		tl.mu.Lock()
		switch {
		case p.verdict == Blocked && o.action == "sts:AssumeRoot":
			tl.counts.callerBlocked++
		case p.verdict == Blocked:
			tl.counts.blocked++
		case p.verdict == Unknown:
			tl.counts.unknown++
		default:
			tl.counts.ok++
		}
		tl.mu.Unlock()
	}
}

// members lists the accounts AssumeRoot can target, as the listing gives
// them.
func members(t testing.TB, srv *fixtures.Server) []orgscan.Account {
	t.Helper()
	l, err := orgscan.NewLister(context.Background(), simtest.Config(srv, srv.ManagementCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	var out []orgscan.Account
	err = l.Each(context.Background(), orgscan.Selection{}, func(tg orgscan.Target) error {
		if tg.Skip == "" {
			out = append(out, tg.Account)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerdictsMatchTheEmulatorOnTheDemo checks every account × task ×
// caller of the demo organization, in both reading modes: each action
// rootctl predicts blocked is refused by the emulator, each it predicts ok
// is not.
func TestVerdictsMatchTheEmulatorOnTheDemo(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{PerTarget, Index} {
		t.Run(fmt.Sprintf("mode %d", mode), func(t *testing.T) {
			t.Parallel()
			org, err := fixtures.Load("demo")
			if err != nil {
				t.Fatal(err)
			}
			withResources(org)
			srv := simtest.Start(t, org, fixtures.Options{})
			var tl tally
			for _, caller := range []string{org.ManagementAccount, "222222222201"} {
				c := newChecker(t, srv, caller, caller, mode)
				for _, acct := range members(t, srv) {
					for _, task := range rootsession.Tasks() {
						compare(t, srv, c, caller, acct, task, nil, &tl)
					}
				}
			}
			// The Legacy OU's two accounts are blocked for every action;
			// Restricted-Data's bucket policy writes; the delegated
			// administrator's AssumeRoot for every task but audit.
			if c := tl.counts; c.blocked == 0 || c.callerBlocked == 0 || c.ok == 0 || c.unknown != 0 {
				t.Fatalf("compared %+v: want blocked, caller-blocked and ok verdicts, and no unknown", c)
			}
		})
	}
}

// TestVerdictsMatchTheEmulatorOnGeneratedPolicies generates organizations
// with random SCPs and RCPs built from the grammar guardrails use, some
// with what rootctl does not evaluate, and checks every account × task ×
// caller against the emulator.
func TestVerdictsMatchTheEmulatorOnGeneratedPolicies(t *testing.T) {
	t.Parallel()
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	var total tally
	t.Run("seeds", func(t *testing.T) {
		for seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				org, unsupported := generateOrg(t, uint64(seed))
				srv := simtest.Start(t, org, fixtures.Options{PageSize: 2})
				mode := Mode(seed % 2)
				for _, caller := range []string{org.ManagementAccount, genAdmin} {
					// Read as the management account: a generated SCP may
					// deny the delegated administrator Organizations' reads.
					c := newChecker(t, srv, org.ManagementAccount, caller, mode)
					for _, acct := range members(t, srv) {
						for _, task := range rootsession.Tasks() {
							compare(t, srv, c, caller, acct, task, unsupported, &total)
						}
					}
				}
			})
		}
	})
	if c := total.counts; c.blocked == 0 || c.callerBlocked == 0 || c.ok == 0 || c.unknown == 0 {
		t.Fatalf("compared %+v: the generator should reach every verdict", c)
	}
	t.Logf("compared %+v", total.counts)
}

const (
	genOrg   = "o-gen0preflight"
	genRoot  = "r-g3n0"
	genAdmin = "900000000001"
)

var genOUs = []struct{ id, parent string }{
	{"ou-g3n0-aaaaaaaa", genRoot}, {"ou-g3n0-bbbbbbbb", genRoot},
	{"ou-g3n0-cccccccc", "ou-g3n0-aaaaaaaa"}, {"ou-g3n0-dddddddd", "ou-g3n0-cccccccc"},
}

var genAccounts = []struct{ id, parent string }{
	{genAdmin, genRoot}, {"900000000002", "ou-g3n0-aaaaaaaa"}, {"900000000003", "ou-g3n0-bbbbbbbb"},
	{"900000000004", "ou-g3n0-cccccccc"}, {"900000000005", "ou-g3n0-dddddddd"}, {"900000000006", "ou-g3n0-dddddddd"},
}

// generateOrg builds a random organization from seed and the IDs of its
// policies that use what rootctl does not evaluate.
func generateOrg(t testing.TB, seed uint64) (*fixtures.Org, map[string]bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	pick := func(list ...string) string { return list[rng.IntN(len(list))] }
	targets := []string{genRoot}
	for _, ou := range genOUs {
		targets = append(targets, ou.id)
	}
	for _, a := range genAccounts {
		targets = append(targets, a.id)
	}
	type statement map[string]any
	auditARN := rootsession.Audit.ARN()
	supported := []func() (string, map[string]any){
		func() (string, map[string]any) {
			return "ArnLike", map[string]any{"aws:PrincipalArn": pick("arn:aws:iam::*:root", "arn:*:iam::*:root")}
		},
		func() (string, map[string]any) {
			return "StringLike", map[string]any{"aws:PrincipalArn": []string{"arn:aws:iam::*:root"}}
		},
		func() (string, map[string]any) {
			return "ArnNotLike", map[string]any{"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}
		},
		func() (string, map[string]any) {
			return "Null", map[string]any{"aws:AssumedRoot": pick("true", "false")}
		},
		func() (string, map[string]any) {
			return "Bool", map[string]any{"aws:AssumedRoot": pick("true", "false")}
		},
		func() (string, map[string]any) { return "BoolIfExists", map[string]any{"aws:AssumedRoot": "false"} },
		func() (string, map[string]any) {
			return "StringEquals", map[string]any{"aws:PrincipalAccount": genAccounts[rng.IntN(len(genAccounts))].id}
		},
		func() (string, map[string]any) {
			return "StringNotEquals", map[string]any{"aws:PrincipalAccount": []string{genAccounts[rng.IntN(len(genAccounts))].id, genAccounts[rng.IntN(len(genAccounts))].id}}
		},
		func() (string, map[string]any) {
			return "StringNotEquals", map[string]any{"aws:PrincipalOrgID": pick(genOrg, "o-someoneelse0")}
		},
		func() (string, map[string]any) {
			return "ForAnyValue:StringLike", map[string]any{"aws:PrincipalOrgPaths": genOrg + "/" + genRoot + "/" + genOUs[rng.IntN(len(genOUs))].id + "/*"}
		},
		func() (string, map[string]any) {
			return "ForAllValues:StringNotLike", map[string]any{"aws:PrincipalOrgPaths": "*/" + genOUs[rng.IntN(len(genOUs))].id + "/*"}
		},
		func() (string, map[string]any) {
			return pick("ArnNotEquals", "ArnNotLike", "StringNotEquals"), map[string]any{"sts:TaskPolicyArn": auditARN}
		},
		func() (string, map[string]any) {
			return "StringEqualsIfExists", map[string]any{"sts:TaskPolicyArn": pick(auditARN, rootsession.Delete.ARN())}
		},
		func() (string, map[string]any) {
			return pick("ForAllValues:StringNotEquals", "ForAnyValue:StringEquals"), map[string]any{"sts:TaskPolicyArn": auditARN}
		},
		func() (string, map[string]any) {
			return "StringEqualsIgnoreCase", map[string]any{"aws:PrincipalArn": "ARN:AWS:IAM::" + genAccounts[rng.IntN(len(genAccounts))].id + ":ROOT"}
		},
	}
	unsupportedConds := []func() (string, map[string]any){
		func() (string, map[string]any) { return "BinaryEquals", map[string]any{"aws:PrincipalArn": "cm9vdA=="} },
		func() (string, map[string]any) {
			return "NumericLessThan", map[string]any{"aws:MultiFactorAuthAge": "3600"}
		},
		func() (string, map[string]any) { return "IpAddress", map[string]any{"aws:SourceIp": "10.0.0.0/8"} },
		func() (string, map[string]any) {
			return "StringEquals", map[string]any{"aws:RequestedRegion": "us-east-1"}
		},
	}
	newStatement := func(rcp bool) (statement, bool) {
		st := statement{"Effect": "Deny"}
		if !rcp && rng.IntN(5) == 0 {
			st["Effect"] = "Allow"
		}
		if rcp {
			st["Principal"] = "*"
			st["Action"] = pick("s3:PutBucketPolicy", "s3:*", "sqs:SetQueueAttributes", "sqs:*", "*")
		} else if rng.IntN(6) == 0 {
			st["NotAction"] = pick("iam:*", "s3:*", "sqs:*")
		} else {
			st["Action"] = pick("*", "iam:*", "iam:Get*", "iam:List*", "iam:Delete*", "iam:CreateLoginProfile", "iam:GetAccountSummary",
				"s3:PutBucketPolicy", "s3:*", "sqs:SetQueueAttributes", "sqs:*", "sts:AssumeRoot", "sts:*")
		}
		if rng.IntN(6) == 0 {
			st["NotResource"] = pick("arn:aws:iam::*:root", "arn:aws:s3:::pf-*")
		} else {
			st["Resource"] = pick("*", "*", "*", "arn:aws:iam::*:root", "arn:*:iam::*:root", "arn:aws:iam::*:user/*", "arn:aws:s3:::*",
				"arn:aws:s3:::pf-9*", "arn:aws:sqs:*:*:*", "arn:aws:sqs:us-east-1:"+genAccounts[rng.IntN(len(genAccounts))].id+":*")
		}
		cond := map[string]map[string]any{}
		add := func(f func() (string, map[string]any)) {
			op, kv := f()
			if cond[op] == nil {
				cond[op] = map[string]any{}
			}
			for k, v := range kv {
				cond[op][k] = v
			}
		}
		for range rng.IntN(3) {
			add(supported[rng.IntN(len(supported))])
		}
		odd := rng.IntN(8) == 0
		if odd {
			add(unsupportedConds[rng.IntN(len(unsupportedConds))])
		}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
		if rng.IntN(2) == 0 {
			st["Sid"] = fmt.Sprintf("S%d", rng.IntN(1000))
		}
		return st, odd
	}
	unsupported := map[string]bool{}
	var policies []map[string]any
	attachedCount := map[string]int{}
	fullAccess := slices.Clone(targets)
	for i := range 2 + rng.IntN(5) {
		rcp := rng.IntN(3) == 0
		var stmts []statement
		odd := false
		for range 1 + rng.IntN(2) {
			st, o := newStatement(rcp)
			stmts = append(stmts, st)
			odd = odd || o
		}
		typ := "SERVICE_CONTROL_POLICY"
		if rcp {
			typ = "RESOURCE_CONTROL_POLICY"
		}
		id := fmt.Sprintf("p-gen%05d", i)
		if odd {
			unsupported[id] = true
		}
		var on []string
		for range 1 + rng.IntN(3) {
			tg := targets[rng.IntN(len(targets))]
			if slices.Contains(on, tg) || attachedCount[typ+tg] >= 3 {
				continue
			}
			on = append(on, tg)
			attachedCount[typ+tg]++
		}
		// An SCP of Allows only, attached where FullAWSAccess is then
		// detached, makes the allow side do the work.
		allowOnly := !rcp && !slices.ContainsFunc(stmts, func(s statement) bool { return s["Effect"] == "Deny" })
		if allowOnly && len(on) > 0 {
			fullAccess = slices.DeleteFunc(fullAccess, func(tg string) bool { return tg == on[0] })
		}
		policies = append(policies, map[string]any{"id": id, "name": fmt.Sprintf("Generated%d", i), "type": typ,
			"content": map[string]any{"Version": "2012-10-17", "Statement": stmts}, "targets": on})
	}
	policies = append(policies, map[string]any{"id": "p-FullAWSAccess", "targets": fullAccess})
	var ous []map[string]string
	for _, ou := range genOUs {
		ous = append(ous, map[string]string{"id": ou.id, "name": ou.id[len(ou.id)-4:], "parent": ou.parent})
	}
	accounts := []map[string]any{{"id": "900000000000", "name": "management", "email": "m@example.com", "root": map[string]any{}}}
	for _, a := range genAccounts {
		accounts = append(accounts, map[string]any{"id": a.id, "name": "member-" + a.id[9:], "email": a.id + "@example.com", "parent": a.parent,
			"root": map[string]any{}, "buckets": []map[string]string{{"name": "pf-" + a.id, "region": "us-east-1"}},
			"queues": []map[string]string{{"name": "pf-" + a.id, "region": "us-east-1"}}})
	}
	doc := map[string]any{
		"id": genOrg, "management_account": "900000000000", "feature_set": "ALL", "root_id": genRoot,
		"trusted_access": []string{"iam.amazonaws.com"}, "features": []string{"RootCredentialsManagement", "RootSessions"},
		"delegated_admins": []map[string]string{{"account_id": genAdmin, "service_principal": "iam.amazonaws.com"}},
		"policy_types":     []string{"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"},
		"ous":              ous, "policies": policies, "accounts": accounts,
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	org, err := fixtures.Parse(data)
	if err != nil {
		t.Fatalf("seed %d: the emulator refuses the generated organization: %v\n%s", seed, err, data)
	}
	return org, unsupported
}
