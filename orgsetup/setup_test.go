package orgsetup

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/rootsession"
)

// emulator serves the named embedded organization, changed by change, and
// returns the configuration of caller's credentials ("" for the
// management account's).
func emulator(t *testing.T, name string, change func(*fixtures.Org), caller string) (*fixtures.Server, aws.Config) {
	t.Helper()
	org, err := fixtures.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(org)
	}
	srv := simtest.Start(t, org, fixtures.Options{PageSize: 1})
	c := srv.ManagementCredentials()
	if caller != "" {
		c = srv.Credentials(caller)
	}
	return srv, simtest.Config(srv, c)
}

func missing(fixes []Fix) []string {
	var out []string
	for _, f := range fixes {
		out = append(out, f.Missing)
	}
	return out
}

// TestReadSetup reads each prerequisite as the emulator holds it, through
// pages of one item, for each kind of caller.
func TestReadSetup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, org, caller string
		want              Setup
		wantMissing       []string
	}{
		{"the demo organization, read by its management account", "demo", "", Setup{
			CallerRole: RoleManagement, CallerAccount: "111111111111", OrganizationID: "o-demo7rootctl", ManagementAccount: "111111111111",
			FeatureSet: "ALL", TrustedAccess: Enabled, RootCredentialsManagement: Enabled, RootSessions: Enabled,
			DelegatedAdministrators: []string{"222222222201"}}, nil},
		{"the demo organization, read by its IAM delegated administrator", "demo", "222222222201", Setup{
			CallerRole: RoleDelegateAdmin, CallerAccount: "222222222201", OrganizationID: "o-demo7rootctl", ManagementAccount: "111111111111",
			FeatureSet: "ALL", TrustedAccess: Enabled, RootCredentialsManagement: Enabled, RootSessions: Enabled,
			DelegatedAdministrators: []string{"222222222201"}}, nil},
		{"a fresh organization with nothing enabled", "fresh", "", Setup{
			CallerRole: RoleManagement, FeatureSet: "ALL", TrustedAccess: Disabled, RootCredentialsManagement: Disabled, RootSessions: Disabled},
			[]string{"trusted access for iam.amazonaws.com", "the RootCredentialsManagement feature", "the RootSessions feature"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, cfg := emulator(t, tc.org, nil, tc.caller)
			s, err := ReadSetup(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := Setup{CallerRole: s.CallerRole, FeatureSet: s.FeatureSet, TrustedAccess: s.TrustedAccess,
				RootCredentialsManagement: s.RootCredentialsManagement, RootSessions: s.RootSessions}
			want := Setup{CallerRole: tc.want.CallerRole, FeatureSet: tc.want.FeatureSet, TrustedAccess: tc.want.TrustedAccess,
				RootCredentialsManagement: tc.want.RootCredentialsManagement, RootSessions: tc.want.RootSessions}
			if tc.want.OrganizationID != "" {
				got.CallerAccount, got.OrganizationID, got.ManagementAccount, got.DelegatedAdministrators = s.CallerAccount, s.OrganizationID, s.ManagementAccount, s.DelegatedAdministrators
				want.CallerAccount, want.OrganizationID, want.ManagementAccount, want.DelegatedAdministrators = tc.want.CallerAccount, tc.want.OrganizationID, tc.want.ManagementAccount, tc.want.DelegatedAdministrators
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("setup\n got %+v\nwant %+v", got, want)
			}
			if m := missing(s.Fixes()); !slices.Equal(m, tc.wantMissing) {
				t.Errorf("fixes %q, want %q", m, tc.wantMissing)
			}
		})
	}
}

// TestPlanOrdersTheSteps: trusted access first, then the features, then
// the delegated administrator; nothing for what is on; only the management
// account may plan.
func TestPlanOrdersTheSteps(t *testing.T) {
	t.Parallel()
	fresh := &Setup{CallerRole: RoleManagement, ManagementAccount: "111111111111", FeatureSet: "ALL",
		TrustedAccess: Disabled, RootCredentialsManagement: Disabled, RootSessions: Disabled}
	steps, err := fresh.Plan(EnableRequest{CredentialsManagement: true, RootSessions: true, Delegate: "222222222201"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Description)
	}
	want := []string{
		"enable trusted access for iam.amazonaws.com (organizations:EnableAWSServiceAccess)",
		"enable RootCredentialsManagement (iam:EnableOrganizationsRootCredentialsManagement)",
		"enable RootSessions (iam:EnableOrganizationsRootSessions)",
		"register 222222222201 as IAM delegated administrator (organizations:RegisterDelegatedAdministrator)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps %q\nwant %q", got, want)
	}
	on := &Setup{CallerRole: RoleManagement, FeatureSet: "ALL", TrustedAccess: Enabled, RootCredentialsManagement: Enabled,
		RootSessions: Enabled, DelegatedAdministrators: []string{"222222222201"}}
	if steps, err := on.Plan(EnableRequest{CredentialsManagement: true, RootSessions: true, Delegate: "222222222201"}); err != nil || len(steps) != 0 {
		t.Errorf("an organization with everything on: %d steps, %v", len(steps), err)
	}
	admin := &Setup{CallerRole: RoleDelegateAdmin, CallerAccount: "222222222201", ManagementAccount: "111111111111"}
	if _, err := admin.Plan(EnableRequest{CredentialsManagement: true}); !errors.Is(err, ErrNotManagement) {
		t.Errorf("a delegated administrator's plan: %v, want ErrNotManagement", err)
	}
	if _, err := fresh.Plan(EnableRequest{Delegate: "111111111111"}); err == nil {
		t.Error("the management account as delegated administrator was planned")
	}
}

// TestPlanStepsChangeTheOrganization applies a fresh organization's plan
// and reads it back enabled.
func TestPlanStepsChangeTheOrganization(t *testing.T) {
	t.Parallel()
	_, cfg := emulator(t, "fresh", nil, "")
	ctx := context.Background()
	s, err := ReadSetup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := s.Plan(EnableRequest{CredentialsManagement: true, RootSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if err := st.Apply(ctx, cfg); err != nil {
			t.Fatalf("%s: %v", st.Description, err)
		}
	}
	after, err := ReadSetup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !after.CanAssumeRoot() || len(after.Fixes()) != 0 {
		t.Errorf("after the plan: %+v, fixes %q", after, missing(after.Fixes()))
	}
}

// TestBlockingNamesOnlyTheTasksPrerequisites: a task is not blocked by the
// other feature; Prerequisites answers an Assumer from one read.
func TestBlockingNamesOnlyTheTasksPrerequisites(t *testing.T) {
	t.Parallel()
	srv, cfg := emulator(t, "demo", func(o *fixtures.Org) { o.Features = []string{fixtures.FeatureRootSessions} }, "")
	prereq := Prerequisites(cfg)
	ctx := context.Background()
	audit, err := prereq(ctx, rootsession.Audit)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Missing != "the RootCredentialsManagement feature" {
		t.Errorf("audit blocked by %+v", audit)
	}
	calls := len(srv.Calls())
	unlock, err := prereq(ctx, rootsession.S3Unlock)
	if err != nil || len(unlock) != 0 {
		t.Errorf("s3 unlock blocked by %+v, %v", unlock, err)
	}
	if len(srv.Calls()) != calls {
		t.Errorf("the second task read the setup again: %d calls", len(srv.Calls())-calls)
	}
}
