package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgsetup"
)

func freshOrg(t *testing.T) *fixtures.Org {
	t.Helper()
	org, err := fixtures.Load("fresh")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		org         func(*testing.T) *fixtures.Org
		caller      string
		wantRole    string
		wantAssume  bool
		wantMissing []string
	}{
		{"the demo organization has everything", demoOrg, "111111111111", orgsetup.RoleManagement, true, nil},
		{"the delegated administrator sees it too", demoOrg, "222222222201", orgsetup.RoleDelegateAdmin, true, nil},
		{"a fresh organization lacks three things", freshOrg, "111111111111", orgsetup.RoleManagement, false,
			[]string{"rootctl enable", "rootctl enable --credentials-management", "rootctl enable --root-sessions"}},
		{"a plain member is told to use other credentials", demoOrg, "333333333301", orgsetup.RoleMember, false,
			[]string{"run rootctl with management-account credentials, or register this account: rootctl enable --delegate 333333333301"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.org(t), fixtures.Options{})
			h.creds = h.srv.Credentials(tt.caller)
			code, out, stderr := h.run("status", "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r := parseJSON[StatusReport](t, out)
			var missing []string
			for _, f := range r.Missing {
				missing = append(missing, f.Command)
			}
			if r.CallerRole != tt.wantRole || r.CanAssumeRoot != tt.wantAssume || !slices.Equal(missing, tt.wantMissing) {
				t.Fatalf("role %s, can assume %v, fixes %q\nwant role %s, %v, %q", r.CallerRole, r.CanAssumeRoot, missing, tt.wantRole, tt.wantAssume, tt.wantMissing)
			}
		})
	}
	t.Run("an account outside any organization", func(t *testing.T) {
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		h.creds = h.srv.Credentials("999999999999")
		code, _, stderr := h.run("status")
		if code != ExitFailure || !strings.Contains(stderr, "not in an AWS organization") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("the table names each fix", func(t *testing.T) {
		h := newHarness(t, freshOrg(t), fixtures.Options{})
		_, out, _ := h.run("status")
		for _, want := range []string{"Caller can use AssumeRoot", "fix: rootctl enable --root-sessions", "or:  aws iam enable-organizations-root-sessions"} {
			if !strings.Contains(out, want) {
				t.Errorf("status table lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestEnable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		args         []string
		tty          bool
		stdin        string
		caller       string
		wantCode     int
		wantWrites   []string
		wantFeatures []string
		wantOut      string
	}{
		{name: "both features, trusted access first", args: []string{"--yes"}, wantWrites: []string{
			"organizations:EnableAWSServiceAccess", "iam:EnableOrganizationsRootCredentialsManagement", "iam:EnableOrganizationsRootSessions"},
			wantFeatures: []string{"RootCredentialsManagement", "RootSessions"}},
		{name: "one feature", args: []string{"--root-sessions", "--yes"},
			wantWrites: []string{"organizations:EnableAWSServiceAccess", "iam:EnableOrganizationsRootSessions"}, wantFeatures: []string{"RootSessions"}},
		{name: "with a delegated administrator", args: []string{"--credentials-management", "--delegate", "666666666601", "--yes"},
			wantWrites:   []string{"organizations:EnableAWSServiceAccess", "iam:EnableOrganizationsRootCredentialsManagement", "organizations:RegisterDelegatedAdministrator"},
			wantFeatures: []string{"RootCredentialsManagement"}},
		{name: "a dry run changes nothing", args: []string{"--dry-run"}, wantOut: "Dry run: nothing was changed."},
		{name: "no --yes off a terminal changes nothing", args: nil, wantCode: ExitUsage},
		{name: "typing the count of changes on a terminal confirms", tty: true, stdin: "3\n", wantWrites: []string{
			"organizations:EnableAWSServiceAccess", "iam:EnableOrganizationsRootCredentialsManagement", "iam:EnableOrganizationsRootSessions"},
			wantFeatures: []string{"RootCredentialsManagement", "RootSessions"}},
		{name: "a wrong answer on a terminal changes nothing", tty: true, stdin: "yes\n", wantCode: ExitFailure},
		{name: "typing the command's name changes nothing", tty: true, stdin: "enable\n", wantCode: ExitFailure},
		{name: "a member account may not enable", args: []string{"--yes"}, caller: "666666666601", wantCode: ExitFailure,
			wantOut: ""},
		{name: "a malformed delegate", args: []string{"--delegate", "42", "--yes"}, wantCode: ExitUsage},
		{name: "the management account cannot be delegate", args: []string{"--delegate", "111111111111", "--yes"}, wantCode: ExitUsage},
		{name: "a delegate outside the organization", args: []string{"--delegate", "999999999999", "--yes"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, freshOrg(t), fixtures.Options{})
			h.tty, h.stdin = tt.tty, tt.stdin
			if tt.caller != "" {
				h.creds = h.srv.Credentials(tt.caller)
			}
			code, out, stderr := h.run(append([]string{"enable"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			if got := writeCalls(h.srv.Calls()); !slices.Equal(got, tt.wantWrites) {
				t.Fatalf("writes = %v\nwant     %v", got, tt.wantWrites)
			}
			if got := h.srv.Org().Features; !slices.Equal(got, tt.wantFeatures) {
				t.Fatalf("features = %v, want %v", got, tt.wantFeatures)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if asked := strings.HasPrefix(stderr, "Type 3 to make the 3 changes above in organization o-fresh0rootctl: "); asked != tt.tty {
				t.Fatalf("the question on a terminal (%v) names what will happen and asks for the count; stderr:\n%s", tt.tty, stderr)
			}
		})
	}
}

func TestEnableIsIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, freshOrg(t), fixtures.Options{})
	if code, _, stderr := h.run("enable", "--yes"); code != 0 {
		t.Fatalf("first run: %d %s", code, stderr)
	}
	h.srv.ResetCalls()
	code, out, _ := h.run("enable", "--yes")
	if code != 0 || !strings.Contains(out, "Nothing to change") {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Fatalf("second run wrote %v", w)
	}
}
