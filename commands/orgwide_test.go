package commands

import (
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// TestOrgWideRefusalStopsTheRun: a refusal that is the organization's or
// the caller's stops audit, delete, recovery and locks at the first
// account with one line naming the fix: no per-account errors, no report
// of accounts never reached, no AssumeRoot after the first refusal, and
// nothing changed.
func TestOrgWideRefusalStopsTheRun(t *testing.T) {
	t.Parallel()
	noFeature := func(o *fixtures.Org) { o.Features = []string{fixtures.FeatureRootSessions} }
	noSessions := func(o *fixtures.Org) { o.Features = []string{fixtures.FeatureRootCredentialsManagement} }
	noTrust := func(o *fixtures.Org) { o.TrustedAccess = nil }
	for _, tc := range []struct {
		name   string
		change func(*fixtures.Org)
		caller string // account whose IAM user calls; "" for the management account
		args   []string
		want   string
	}{
		{"audit with RootCredentialsManagement off", noFeature, "", []string{"audit", "-o", "json"},
			"missing: the RootCredentialsManagement feature (run: rootctl enable --credentials-management)"},
		{"delete with RootCredentialsManagement off", noFeature, "", []string{"delete", "--reason", "r", "--yes", "--accounts", "333333333301,333333333302"},
			"rootctl enable --credentials-management); nothing was changed"},
		{"recovery with trusted access off", noTrust, "", []string{"recovery", "--reason", "r", "--yes", "--accounts", "222222222202,444444444402"},
			"missing: trusted access for iam.amazonaws.com (run: rootctl enable)"},
		{"locks with RootSessions off", noSessions, "", []string{"locks", "--reason", "r"},
			"missing: the RootSessions feature (run: rootctl enable --root-sessions)"},
		{"audit by a member account's administrator", nil, "444444444402", []string{"audit", "-o", "json"},
			"run rootctl from the management account or the IAM delegated administrator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			org := demoOrg(t)
			if tc.change != nil {
				tc.change(org)
			}
			h := newHarness(t, org, fixtures.Options{})
			if tc.caller != "" {
				h.creds = h.srv.Credentials(tc.caller)
			}
			before := orgState(t, h)
			code, out, stderr := h.run(append(tc.args, "--concurrency", "1", "--quiet")...)
			if code != ExitFailure || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, no report, one line with %q", code, out, stderr, tc.want)
			}
			assumes, wantAssumes := 0, 1
			if tc.caller != "" {
				wantAssumes = 0 // the listing is refused first
			}
			for _, c := range h.srv.Calls() {
				if c.Operation == "AssumeRoot" {
					assumes++
				}
			}
			if assumes != wantAssumes {
				t.Errorf("%d AssumeRoot calls; want the first refusal only", assumes)
			}
			if w := writeCalls(h.srv.Calls()); len(w) != 0 || orgState(t, h) != before {
				t.Errorf("the organization changed: %v", w)
			}
		})
	}
}

// TestAccountRefusalIsTheAccounts: an AccessDenied for one account while
// the organization's prerequisites hold is that account's error; the run
// goes on and reports the rest.
func TestAccountRefusalIsTheAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{AssumeRootFaults: map[string]string{"333333333301": "AccessDenied"}})
	code, out, stderr := h.run("audit", "--ou", "ou-d3m0-prod0001", "-o", "json", "--concurrency", "1")
	if code != ExitPartial {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	got := map[string]string{}
	for _, a := range r.Accounts {
		got[a.ID] = a.Status
	}
	want := map[string]string{"333333333301": orgrun.StatusError, "333333333302": orgrun.StatusRootCredentials, "333333333304": orgrun.StatusRootCredentials}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %q, want %q (all: %v)", id, got[id], st, got)
		}
	}
}
