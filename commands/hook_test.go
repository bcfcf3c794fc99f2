package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootcreds"
)

// callsOf lists "service:Operation" of the calls made, in order.
func callsOf(calls []fixtures.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

// creationEvent is the EventBridge event AWS Organizations emits when a
// creation ends (CreateAccountResult), with serviceEventDetails as a JSON
// string when asString, as some log pipelines deliver it.
func creationEvent(accountID, state, reason string, asString bool) string {
	status := map[string]any{"id": "car-3fbd74c0f2fa11ed8b6e0a41b5dcf48f", "state": state, "accountName": "****",
		"accountId": accountID, "failureReason": reason, "requestedTimestamp": "May 15, 2023 8:26:54 AM"}
	var details any = map[string]any{"createAccountStatus": status}
	if asString {
		b, _ := json.Marshal(details)
		details = string(b)
	}
	ev := map[string]any{
		"version": "0", "id": "68679d28-343e-d8ec-4a8c-cdd430223a5d", "detail-type": "AWS Service Event via CloudTrail",
		"source": "aws.organizations", "account": "111111111111", "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.08", "eventSource": "organizations.amazonaws.com", "eventName": "CreateAccountResult",
			"eventType": "AwsServiceEvent", "serviceEventDetails": details,
		},
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func TestHookCompliantAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("hook", "account-created", "--account-id", "222222222201")
	if code != ExitOK {
		t.Fatalf("exit %d, want 0: %s", code, stderr)
	}
	r := parseJSON[HookReport](t, out)
	if r.Status != orgrun.StatusCompliant || r.Found == nil || r.Found.Status != orgrun.StatusCompliant || r.Final == nil || len(r.Actions) != 0 {
		t.Fatalf("report = %+v", r)
	}
	if r.Account.ID != "222222222201" || r.Account.State != "ACTIVE" || r.Reason != defaultHookReason {
		t.Fatalf("account %+v, reason %q", r.Account, r.Reason)
	}
	want := []string{"sts:GetCallerIdentity", "organizations:DescribeOrganization", "organizations:DescribeAccount",
		"organizations:ListRoots", "organizations:ListOrganizationalUnitsForParent", "sts:AssumeRoot", "iam:GetAccountSummary"}
	if got := callsOf(h.srv.Calls()); !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if got := actionsOf(auditEntries(t, h)); len(got) != 0 {
		t.Fatalf("audit log actions = %v, want only the AssumeRoot", got)
	}
}

// TestHookWarnsOfUnreadableOUNames: an OU name the caller may not read
// leaves the account's OU path by ID only, and a warning on stderr says
// why, as audit's does; the check itself is not affected.
func TestHookWarnsOfUnreadableOUNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{OpFaults: map[string]string{"organizations:ListOrganizationalUnitsForParent": "AccessDeniedException"}})
	code, out, stderr := h.run("hook", "account-created", "--account-id", "222222222201")
	r := parseJSON[HookReport](t, out)
	const warning = "Warning: some accounts have no OU path by name (ou_path), only by ID (ou_path_ids), as OU names could not be read: AccessDeniedException:"
	if code != ExitOK || r.Status != orgrun.StatusCompliant || !strings.Contains(stderr, warning) || strings.Count(stderr, "Warning") != 1 {
		t.Fatalf("exit %d, status %s; stderr %q, want exit 0, compliant and %q", code, r.Status, stderr, warning)
	}
	if r.Account.OUPath != "" || r.Account.OUPathIDs != "r-d3m0/ou-d3m0-security" {
		t.Errorf("OU path %q (%q), want none by name and r-d3m0/ou-d3m0-security by ID", r.Account.OUPath, r.Account.OUPathIDs)
	}
}

func TestHookAccountWithRootCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	// Without --remediate: found, reported, left alone, exit 3.
	code, out, stderr := h.run("hook", "account-created", "--account-id", "333333333302")
	if code != ExitFindings || !strings.Contains(stderr, "--remediate") {
		t.Fatalf("exit %d, want 3 naming --remediate: %s", code, stderr)
	}
	r := parseJSON[HookReport](t, out)
	if r.Status != orgrun.StatusRootCredentials || r.Found.Password == nil || len(r.Found.MFADevices) != 1 || r.Final.Password == nil || len(r.Actions) != 0 {
		t.Fatalf("report = %+v", r)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Fatalf("write calls without --remediate: %v", w)
	}

	// With --remediate: deleted in order, recorded, verified, exit 0.
	h.srv.ResetCalls()
	code, out, stderr = h.run("hook", "account-created", "--account-id", "333333333302", "--remediate", "--reason", "VEND-7")
	if code != ExitOK {
		t.Fatalf("--remediate exit %d: %s", code, stderr)
	}
	r = parseJSON[HookReport](t, out)
	var outcomes []string
	for _, a := range r.Actions {
		outcomes = append(outcomes, a.Item.Kind+" "+a.Outcome)
	}
	if r.Status != orgrun.StatusCompliant || r.Found.Status != orgrun.StatusRootCredentials || r.Final.Status != orgrun.StatusCompliant ||
		!slices.Equal(outcomes, []string{"password deleted", "mfa_device deleted"}) {
		t.Fatalf("report = %+v, actions %v", r, outcomes)
	}
	if got, want := writeCalls(h.srv.Calls()), []string{"iam:DeleteLoginProfile", "iam:DeactivateMFADevice"}; !slices.Equal(got, want) {
		t.Fatalf("write calls = %v, want %v", got, want)
	}
	if root := rootOf(t, h, "333333333302"); !root.Empty() {
		t.Fatalf("emulator still holds %+v", root)
	}
	entries := auditEntries(t, h)
	want := []string{
		"333333333302 iam:DeactivateMFADevice arn:aws:iam::333333333302:mfa/root-account-mfa-device success",
		"333333333302 iam:DeleteLoginProfile password success",
	}
	if got := actionsOf(entries); !slices.Equal(got, want) {
		t.Fatalf("audit log actions = %v, want %v", got, want)
	}
	if last := entries[len(entries)-1]; last.Reason != "VEND-7" {
		t.Fatalf("audit log reason %q", last.Reason)
	}

	// Safe twice: nothing left to do.
	h.srv.ResetCalls()
	code, out, _ = h.run("hook", "account-created", "--account-id", "333333333302", "--remediate")
	if r := parseJSON[HookReport](t, out); code != ExitOK || r.Status != orgrun.StatusCompliant || len(r.Actions) != 0 || len(writeCalls(h.srv.Calls())) != 0 {
		t.Fatalf("second run: exit %d, report %+v", code, r)
	}
}

func TestHookRemediationThatFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{OpFaults: map[string]string{"iam:DeleteLoginProfile": "AccessDenied"}})
	code, out, _ := h.run("hook", "account-created", "--account-id", "333333333302", "--remediate")
	r := parseJSON[HookReport](t, out)
	if code != ExitPartial || r.Status != orgrun.StatusRemediationFailed || r.Final == nil || r.Final.Password == nil || r.ErrorCode != "AccessDenied" {
		t.Fatalf("exit %d, report %+v", code, r)
	}
	// MFA is never removed from a password that could not be.
	if len(rootOf(t, h, "333333333302").MFADevices) != 1 {
		t.Fatal("MFA was deactivated although the password stayed")
	}
}

// TestHookEventFromStdinWaitsForActive feeds the EventBridge event on
// stdin for an account still pending activation, which becomes ACTIVE
// after a few polls.
func TestHookEventFromStdinWaitsForActive(t *testing.T) {
	t.Parallel()
	org := demoOrg(t)
	org.Accounts = append(org.Accounts, fixtures.Account{ID: "777777777701", Name: "vended", Email: "aws+vended@example.com", State: "PENDING_ACTIVATION", Parent: org.RootID})
	var polls atomic.Int32
	var h *harness
	h = newHarness(t, org, fixtures.Options{OnCall: func(c fixtures.Call) {
		if c.Operation == "DescribeAccount" && polls.Add(1) == 2 {
			h.srv.Update(func(o *fixtures.Org) {
				for i := range o.Accounts {
					if o.Accounts[i].ID == "777777777701" {
						o.Accounts[i].State = "ACTIVE"
					}
				}
			})
		}
	}})
	for _, asString := range []bool{false, true} {
		polls.Store(0)
		h.srv.Update(func(o *fixtures.Org) { o.Accounts[len(o.Accounts)-1].State = "PENDING_ACTIVATION" })
		h.stdin = creationEvent("777777777701", "SUCCEEDED", "", asString)
		code, out, stderr := h.run("hook", "account-created", "--event", "-")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r := parseJSON[HookReport](t, out)
		if r.Status != orgrun.StatusCompliant || r.Creation == nil || r.Creation.RequestID != "car-3fbd74c0f2fa11ed8b6e0a41b5dcf48f" || r.Account.Name != "vended" {
			t.Fatalf("report = %+v", r)
		}
		if polls.Load() != 3 || !strings.Contains(stderr, "777777777701 is PENDING_ACTIVATION; waiting") {
			t.Fatalf("%d DescribeAccount polls (want 3), stderr %q", polls.Load(), stderr)
		}
	}
}

func TestHookAccountNeverActiveTimesOut(t *testing.T) {
	t.Parallel()
	org := demoOrg(t)
	org.Accounts = append(org.Accounts, fixtures.Account{ID: "777777777702", Name: "stuck", Email: "aws+stuck@example.com", State: "PENDING_ACTIVATION", Parent: org.RootID})
	h := newHarness(t, org, fixtures.Options{})
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte(creationEvent("777777777702", "SUCCEEDED", "", false)), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out, stderr := h.run("hook", "account-created", "--event", file, "--timeout", "700ms", "--remediate")
	if code != ExitTimeout || !strings.Contains(stderr, "still PENDING_ACTIVATION") || !strings.Contains(stderr, "--timeout") {
		t.Fatalf("exit %d, want %d: %s", code, ExitTimeout, stderr)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the timeout of 700ms took %v", took)
	}
	r := parseJSON[HookReport](t, out)
	if r.Status != orgrun.StatusTimeout || r.Found != nil || r.Final != nil {
		t.Fatalf("report = %+v", r)
	}
	for _, c := range h.srv.Calls() {
		if c.Service == "sts" && c.Operation == "AssumeRoot" {
			t.Fatal("AssumeRoot was called for an account that never became ACTIVE")
		}
	}
}

func TestHookAccountNotProvisioned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"creation failed", creationEvent("", "FAILED", "EMAIL_ALREADY_EXISTS", false), []string{"--event", "-"}, "failed: EMAIL_ALREADY_EXISTS"},
		{"suspended", "", []string{"--account-id", "444444444404"}, "is SUSPENDED"},
		{"closing", "", []string{"--account-id", "555555555503"}, "is PENDING_CLOSURE"},
	} {
		h.stdin = tc.stdin
		code, out, stderr := h.run(append([]string{"hook", "account-created"}, tc.args...)...)
		r := parseJSON[HookReport](t, out)
		if code != ExitNotProvisioned || r.Status != orgrun.StatusNotProvisioned || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, status %s, stderr %q", tc.name, code, r.Status, stderr)
		}
	}
}

func TestHookBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notJSON := write("bad.json", "{not json")
	other := write("other.json", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"CreateBucket"}}`)
	noDetails := write("nodetails.json", `{"detail":{"eventName":"CreateAccountResult"}}`)
	noID := write("noid.json", creationEvent("", "SUCCEEDED", "", false))
	badID := write("badid.json", creationEvent("12345", "SUCCEEDED", "", false))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "either --account-id"},
		{[]string{"--account-id", "222222222201", "--event", notJSON}, "not both"},
		{[]string{"--account-id", "2222"}, "12 digits"},
		{[]string{"--account-id", ""}, "either --account-id"},
		{[]string{"--event", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"--event", notJSON}, "not a JSON event"},
		{[]string{"--event", other}, "CreateBucket, not CreateAccountResult"},
		{[]string{"--event", noDetails}, "no serviceEventDetails"},
		{[]string{"--event", noID}, "no accountId"},
		{[]string{"--event", badID}, "not 12 digits"},
		{[]string{"--account-id", "111111111111"}, "management account"},
		{[]string{"--account-id", "222222222201", "--timeout", "0s"}, "--timeout"},
		{[]string{"--account-id", "222222222201", "--timeout", "-5m"}, "--timeout"},
		{[]string{"--account-id", "222222222201", "-o", "yaml"}, "--output"},
		{[]string{"--account-id", "222222222201", "--reason", "two\nlines"}, "one line"},
	} {
		h.srv.ResetCalls()
		code, out, stderr := h.run(append([]string{"hook", "account-created"}, tc.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, stderr, tc.want)
		}
		for _, c := range h.srv.Calls() {
			if c.Service == "sts" && c.Operation == "AssumeRoot" {
				t.Errorf("%v: AssumeRoot called", tc.args)
			}
		}
	}
}

func TestAccountCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{CreateAccountDelay: 300 * time.Millisecond, ActivationDelay: time.Second})
	code, out, stderr := h.run("account", "create", "--name", "payments-prod", "--email", "aws+payments@example.com",
		"--ou", "ou-d3m0-prod0001", "--tag", "team=payments", "--tag", "env=prod", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[HookReport](t, out)
	if r.Status != orgrun.StatusCompliant || r.Creation == nil || r.Creation.State != "SUCCEEDED" || r.Moved != "ou-d3m0-prod0001" || r.Account.State != "ACTIVE" {
		t.Fatalf("report = %+v", r)
	}
	a, ok := h.srv.Account(r.Account.ID)
	if !ok || a.Parent != "ou-d3m0-prod0001" || a.Tags["team"] != "payments" || a.Tags["env"] != "prod" || a.Email != "aws+payments@example.com" {
		t.Fatalf("emulator account = %+v", a)
	}
	if !strings.Contains(stderr, "Creating account payments-prod") || !strings.Contains(stderr, "PENDING_ACTIVATION") {
		t.Fatalf("no progress on stderr: %q", stderr)
	}
	want := []string{"organizations:CreateAccount", "organizations:MoveAccount"}
	if got := writeCalls(h.srv.Calls()); !slices.Equal(got, want) {
		t.Fatalf("write calls = %v, want %v", got, want)
	}
	got := actionsOf(auditEntries(t, h))
	wantLog := []string{
		r.Account.ID + " organizations:MoveAccount ou-d3m0-prod0001 success",
		"organizations:CreateAccount aws+payments@example.com success",
	}
	if !slices.Equal(got, wantLog) {
		t.Fatalf("audit log = %v, want %v", got, wantLog)
	}

	// The same email again: AWS refuses it, the creation fails, exit 6.
	code, _, stderr = h.run("account", "create", "--name", "payments-prod-2", "--email", "aws+payments@example.com")
	if code != ExitNotProvisioned || !strings.Contains(stderr, "EMAIL_ALREADY_EXISTS") || !strings.Contains(stderr, "another --email") {
		t.Fatalf("duplicate email: exit %d, %s", code, stderr)
	}
}

func TestAccountCreateTimesOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts fixtures.Options
		want string
	}{
		{"creation", fixtures.Options{CreateAccountDelay: time.Hour}, "still IN_PROGRESS"},
		{"activation", fixtures.Options{ActivationDelay: -1}, "still PENDING_ACTIVATION"},
	} {
		h := newHarness(t, demoOrg(t), tc.opts)
		code, out, stderr := h.run("account", "create", "--name", "slow", "--email", "aws+slow@example.com", "--timeout", "600ms", "-o", "json")
		if r := parseJSON[HookReport](t, out); code != ExitTimeout || r.Status != orgrun.StatusTimeout || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, report %+v, stderr %q", tc.name, code, r, stderr)
		}
	}
}

func TestAccountCreateBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	base := []string{"account", "create"}
	ok := []string{"--name", "n", "--email", "aws+n@example.com"}
	tags := make([]string, 0, 2*(maxTags+1))
	for i := range maxTags + 1 {
		tags = append(tags, "--tag", fmt.Sprintf("k%d=v", i))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "aws+n@example.com"}, "--name is required"},
		{[]string{"--name", strings.Repeat("n", 51), "--email", "aws+n@example.com"}, "1 to 50"},
		{[]string{"--name", "tab\there", "--email", "aws+n@example.com"}, "printable"},
		{[]string{"--name", "n"}, "--email is required"},
		{[]string{"--name", "n", "--email", "not-an-email"}, "--email"},
		{[]string{"--name", "n", "--email", strings.Repeat("a", 60) + "@example.com"}, "6 to 64"},
		{append(ok, "--ou", "prod"), "--ou"},
		{append(ok, "--ou", "ou-d3m0-nothere1"), "no account was created"},
		{append(ok, "--tag", "novalue"), "KEY=VALUE"},
		{append(ok, "--tag", "=v"), "KEY=VALUE"},
		{append(ok, "--tag", "aws:x=1"), "reserved"},
		{append(ok, "--tag", "a=1", "--tag", "a=2"), "given twice"},
		{append(ok, tags...), "at most 50"},
		{append(ok, "--timeout", "48h"), "--timeout"},
		{append(ok, "-o", "xml"), "--output"},
	} {
		h.srv.ResetCalls()
		code, out, stderr := h.run(append(base, tc.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, stderr, tc.want)
		}
		if w := writeCalls(h.srv.Calls()); len(w) != 0 {
			t.Errorf("%v: write calls %v", tc.args, w)
		}
	}
}

// TestHookRemediatesAVendedAccount runs account create with --remediate on
// an account whose root user has a password by the time it is ACTIVE.
func TestAccountCreateRemediates(t *testing.T) {
	t.Parallel()
	var h *harness
	h = newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
		if c.Operation != "MoveAccount" {
			return
		}
		h.srv.Update(func(o *fixtures.Org) {
			for i := range o.Accounts {
				if o.Accounts[i].Name == "legacy-vended" {
					o.Accounts[i].Root.Password = &fixtures.Password{Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				}
			}
		})
	}})
	code, out, stderr := h.run("account", "create", "--name", "legacy-vended", "--email", "aws+legacy@example.com", "--ou", "ou-d3m0-dev00001", "--remediate", "-o", "json")
	r := parseJSON[HookReport](t, out)
	if code != ExitOK || r.Found == nil || r.Found.Password == nil || r.Final.Status != orgrun.StatusCompliant ||
		len(r.Actions) != 1 || r.Actions[0].Outcome != rootcreds.Deleted {
		t.Fatalf("exit %d, report %+v: %s", code, r, stderr)
	}
}

// TestHookRemediationWaitsForNoOtherRun: while another run holds the
// account's lock, --remediate changes nothing, names the holder, and
// exits 4; once it is released the same hook remediates.
func TestHookRemediationWaitsForNoOtherRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	var out, errOut bytes.Buffer
	locks, err := takeLocks(h.deps(&out, &errOut), "delete", []lockTarget{accountLock("333333333302")})
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := h.run("hook", "account-created", "--account-id", "333333333302", "--remediate", "--reason", "VEND-7")
	r := parseJSON[HookReport](t, stdout)
	if code != ExitPartial || r.Status != orgrun.StatusError || !regexp.MustCompile(`^account 333333333302 is being changed by another rootctl run \(pid \d+, delete, since `).MatchString(r.Error) {
		t.Fatalf("exit %d, status %s, error %q; stderr %s", code, r.Status, r.Error, stderr)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Fatalf("changes while the account was locked: %v", w)
	}
	locks.release()
	if code, _, stderr := h.run("hook", "account-created", "--account-id", "333333333302", "--remediate", "--reason", "VEND-7"); code != ExitOK {
		t.Fatalf("after the lock was released: exit %d: %s", code, stderr)
	}
}
