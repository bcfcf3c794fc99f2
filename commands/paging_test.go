package commands

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgsetup"
)

// TestEveryListIsReadToItsLastPage runs each rootctl path that lists
// something against an emulator whose lists answer one item per page after
// an empty first page (AWS documents both: small pages, and empty pages
// with a NextToken). A command that reads only the first page of any list
// sees nothing and fails its case.
func TestEveryListIsReadToItsLastPage(t *testing.T) {
	t.Parallel()
	// manyServices puts IAM's trusted access after 25 other services.
	manyServices := func(o *fixtures.Org) {
		for i := range 25 {
			o.TrustedAccess = append(o.TrustedAccess, fmt.Sprintf("aa-service%02d.amazonaws.com", i))
		}
	}
	// manyDelegates registers three other accounts for IAM before 222222222201.
	manyDelegates := func(o *fixtures.Org) {
		var ds []fixtures.DelegatedAdmin
		for _, id := range []string{"444444444402", "444444444403", "555555555501"} {
			ds = append(ds, fixtures.DelegatedAdmin{AccountID: id, ServicePrincipal: orgsetup.IAMServicePrincipal})
		}
		o.DelegatedAdmins = append(ds, o.DelegatedAdmins...)
	}
	moreCredentials := func(o *fixtures.Org) {
		for i := range o.Accounts {
			if a := &o.Accounts[i]; a.ID == "444444444405" {
				a.Root.MFADevices = append(a.Root.MFADevices, fixtures.MFADevice{Serial: "GAHT12345678", Enabled: a.Joined})
				a.Root.SigningCertificates = append(a.Root.SigningCertificates, fixtures.SigningCertificate{ID: "DEMOCERT4444444444050001", Status: "Active", Uploaded: a.Joined})
				a.Root.AccessKeys = append(a.Root.AccessKeys, fixtures.AccessKey{ID: "AKIA3DEMO0DEVEVERY02", Status: "Inactive", Created: a.Joined})
			}
		}
	}
	auditIDs := func(t *testing.T, out string) []string {
		var ids []string
		for _, a := range parseJSON[AuditReport](t, out).Accounts {
			ids = append(ids, a.ID)
		}
		return ids
	}
	tests := []struct {
		name   string
		org    func(*fixtures.Org)
		caller string
		args   []string
		check  func(t *testing.T, h *harness, code int, out, stderr string)
	}{
		{name: "status finds IAM's trusted access after 25 other services (ListAWSServiceAccessForOrganization)",
			org: manyServices, args: []string{"status", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				r := parseJSON[StatusReport](t, out)
				if code != 0 || r.TrustedAccess != orgsetup.Enabled || len(r.Missing) != 0 {
					t.Fatalf("exit %d, trusted access %s, missing %+v; %s", code, r.TrustedAccess, r.Missing, stderr)
				}
			}},
		{name: "status knows its caller is the fourth delegated administrator (ListDelegatedAdministrators)",
			org: manyDelegates, caller: "222222222201", args: []string{"status", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				r := parseJSON[StatusReport](t, out)
				if code != 0 || r.CallerRole != orgsetup.RoleDelegateAdmin || !r.CanAssumeRoot ||
					!slices.Equal(r.DelegatedAdministrators, []string{"444444444402", "444444444403", "555555555501", "222222222201"}) {
					t.Fatalf("exit %d, role %s, can assume %v, delegates %v; %s", code, r.CallerRole, r.CanAssumeRoot, r.DelegatedAdministrators, stderr)
				}
			}},
		{name: "enable changes nothing that is on, however late its page",
			org: func(o *fixtures.Org) { manyServices(o); manyDelegates(o) }, args: []string{"enable", "--delegate", "222222222201", "--yes"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				if code != 0 || !strings.Contains(out, "Nothing to change") || len(writeCalls(h.srv.Calls())) != 0 {
					t.Fatalf("exit %d, writes %v:\n%s%s", code, writeCalls(h.srv.Calls()), out, stderr)
				}
			}},
		{name: "enable turns on only the missing feature when trusted access is on a late page",
			org:  func(o *fixtures.Org) { manyServices(o); o.Features = []string{fixtures.FeatureRootSessions} },
			args: []string{"enable", "--yes"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				if got := writeCalls(h.srv.Calls()); code != 0 || !slices.Equal(got, []string{"iam:EnableOrganizationsRootCredentialsManagement"}) {
					t.Fatalf("exit %d, writes %v: %s", code, got, stderr)
				}
			}},
		{name: "audit reads every account (ListAccounts)", args: []string{"audit", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				// Partial: the Legacy OU's deny-root SCP refuses two accounts' root sessions.
				if ids := auditIDs(t, out); code != ExitPartial || len(ids) != 18 {
					t.Fatalf("exit %d, %d accounts: %v; %s", code, len(ids), ids, stderr)
				}
			}},
		{name: "audit --ou reads every account (ListAccounts, by path prefix) and every OU name on their paths (ListRoots, ListOrganizationalUnitsForParent)",
			args: []string{"audit", "--ou", "ou-d3m0-prod0001", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				if ids := auditIDs(t, out); !slices.Equal(ids, []string{"333333333301", "333333333302", "333333333303", "333333333304"}) {
					t.Fatalf("exit %d, accounts %v; %s", code, ids, stderr)
				}
			}},
		{name: "audit --tag reads every tag (ListTagsForResource)", args: []string{"audit", "--tag", "team=web", "--tag", "env=prod", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				if ids := auditIDs(t, out); !slices.Equal(ids, []string{"333333333302", "333333333304"}) {
					t.Fatalf("exit %d, accounts %v; %s", code, ids, stderr)
				}
			}},
		{name: "audit reads every key, MFA device and certificate of the root user (ListAccessKeys, ListMFADevices, ListSigningCertificates)",
			org: moreCredentials, args: []string{"audit", "--accounts", "444444444405", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				r := parseJSON[AuditReport](t, out)
				want := "password 2020-05-01 used 2020-06-15; key AKIA3DEMO0DEVEVERY01 Active created 2020-05-01 used never; key AKIA3DEMO0DEVEVERY02 Inactive created 2020-05-01 used never; " +
					"mfa virtual arn:aws:iam::444444444405:mfa/root-account-mfa-device 2020-05-01; mfa hardware GAHT12345678 2020-05-01; " +
					"cert DEMOCERT4444444444050000 Inactive 2020-05-02; cert DEMOCERT4444444444050001 Active 2020-05-01"
				if len(r.Accounts) != 1 || brief(r.Accounts[0]) != want {
					t.Fatalf("exit %d, %d accounts\n got %s\nwant %s; %s", code, len(r.Accounts), brief(r.Accounts[0]), want, stderr)
				}
			}},
		{name: "account create --ou finds the new account's parent (ListParents)",
			args: []string{"account", "create", "--name", "paged", "--email", "aws+paged@example.com", "--ou", "ou-d3m0-prod0001", "-o", "json"},
			check: func(t *testing.T, h *harness, code int, out, stderr string) {
				r := parseJSON[HookReport](t, out)
				if code != ExitOK || r.Moved != "ou-d3m0-prod0001" {
					t.Fatalf("exit %d, report %+v; %s", code, r, stderr)
				}
				if a, _ := h.srv.Account(r.Account.ID); a.Parent != "ou-d3m0-prod0001" {
					t.Fatalf("the account is in %s", a.Parent)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := demoOrg(t)
			if tt.org != nil {
				tt.org(org)
			}
			h := newHarness(t, org, fixtures.Options{PageSize: 1, EmptyFirstPage: true, ActivationDelay: 10 * time.Millisecond})
			if tt.caller != "" {
				h.creds = h.srv.Credentials(tt.caller)
			}
			code, out, stderr := h.run(tt.args...)
			tt.check(t, h, code, out, stderr)
		})
	}
}
