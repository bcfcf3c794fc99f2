// Package orgsetup reads and changes what centralized root access needs
// from the organization: trusted access for IAM, the RootCredentialsManagement
// and RootSessions features, and IAM's delegated administrators. It is what
// rootctl status shows and rootctl enable changes, and what tells an
// organization-wide AssumeRoot refusal from one account's (Blocking).
package orgsetup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// IAMServicePrincipal is the service principal of IAM in Organizations.
const IAMServicePrincipal = "iam.amazonaws.com"

// State of a prerequisite: on, off, or unknown when the caller may not read it.
type State string

// States of a prerequisite.
const (
	Enabled  State = "enabled"
	Disabled State = "disabled"
	Unknown  State = "unknown"
)

// Caller roles in the organization.
const (
	RoleManagement    = "management"
	RoleDelegateAdmin = "delegated_administrator"
	RoleMember        = "member"
)

// Setup is the state of what centralized root access needs.
type Setup struct {
	CallerARN                 string   `json:"caller_arn"`
	CallerAccount             string   `json:"caller_account"`
	CallerRole                string   `json:"caller_role"`
	OrganizationID            string   `json:"-"` // rootctl status -o json has it in its header
	ManagementAccount         string   `json:"management_account"`
	FeatureSet                string   `json:"feature_set"`
	TrustedAccess             State    `json:"trusted_access"`
	RootCredentialsManagement State    `json:"root_credentials_management"`
	RootSessions              State    `json:"root_sessions"`
	DelegatedAdministrators   []string `json:"delegated_administrators"`
}

// ErrNoOrganization means the caller's account belongs to no organization.
var ErrNoOrganization = errors.New("the caller's account is not in an AWS organization")

// ReadSetup reads the caller, the organization, trusted access for IAM,
// the two IAM organization features and IAM's delegated administrators.
// What the caller may not read is reported Unknown, not as an error.
func ReadSetup(ctx context.Context, cfg aws.Config) (*Setup, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("GetCallerIdentity: %w", err)
	}
	s := &Setup{CallerARN: aws.ToString(id.Arn), CallerAccount: aws.ToString(id.Account),
		TrustedAccess: Unknown, RootCredentialsManagement: Unknown, RootSessions: Unknown, DelegatedAdministrators: []string{}}
	orgs := organizations.NewFromConfig(cfg)
	org, err := orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if awserr.Code(err) == "AWSOrganizationsNotInUseException" {
		return nil, fmt.Errorf("account %s: %w", s.CallerAccount, ErrNoOrganization)
	}
	if err != nil {
		return nil, fmt.Errorf("DescribeOrganization: %w", err)
	}
	s.OrganizationID = aws.ToString(org.Organization.Id)
	s.ManagementAccount = aws.ToString(org.Organization.MasterAccountId)
	s.FeatureSet = string(org.Organization.FeatureSet)
	s.CallerRole = RoleMember
	if s.CallerAccount == s.ManagementAccount {
		s.CallerRole = RoleManagement
	}

	// Both lists are paged on AWS: an organization with many trusted
	// services, or a page size of 1, must not hide IAM's entry.
	admins := organizations.NewListDelegatedAdministratorsPaginator(orgs, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(IAMServicePrincipal)})
	for admins.HasMorePages() {
		page, err := admins.NextPage(ctx)
		if awserr.Code(err) == "AccessDeniedException" {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ListDelegatedAdministrators: %w", err)
		}
		for _, a := range page.DelegatedAdministrators {
			s.DelegatedAdministrators = append(s.DelegatedAdministrators, aws.ToString(a.Id))
		}
	}
	if slices.Contains(s.DelegatedAdministrators, s.CallerAccount) {
		s.CallerRole = RoleDelegateAdmin
	}

	access := organizations.NewListAWSServiceAccessForOrganizationPaginator(orgs, &organizations.ListAWSServiceAccessForOrganizationInput{})
	for access.HasMorePages() {
		page, err := access.NextPage(ctx)
		if awserr.Code(err) == "AccessDeniedException" {
			s.TrustedAccess = Unknown
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ListAWSServiceAccessForOrganization: %w", err)
		}
		if s.TrustedAccess == Unknown {
			s.TrustedAccess = Disabled
		}
		for _, p := range page.EnabledServicePrincipals {
			if aws.ToString(p.ServicePrincipal) == IAMServicePrincipal {
				s.TrustedAccess = Enabled
			}
		}
	}

	features, err := iam.NewFromConfig(cfg).ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{})
	switch {
	case err == nil:
		s.RootCredentialsManagement, s.RootSessions = Disabled, Disabled
		for _, f := range features.EnabledFeatures {
			switch string(f) {
			case rootsession.FeatureRootCredentialsManagement:
				s.RootCredentialsManagement = Enabled
			case rootsession.FeatureRootSessions:
				s.RootSessions = Enabled
			}
		}
	case awserr.Code(err) == "ServiceAccessNotEnabledException":
		// Without trusted access IAM cannot have the features on.
		s.RootCredentialsManagement, s.RootSessions = Disabled, Disabled
	case awserr.Code(err) == "AccountNotManagementOrDelegatedAdministratorException" || awserr.Code(err) == "AccessDenied":
	default:
		return nil, fmt.Errorf("ListOrganizationsFeatures: %w", err)
	}
	return s, nil
}

// CanAssumeRoot reports whether the caller can use AssumeRoot for at least
// one task: the right role, trusted access, and one feature on.
func (s *Setup) CanAssumeRoot() bool {
	return s.CallerRole != RoleMember && s.TrustedAccess == Enabled &&
		(s.RootCredentialsManagement == Enabled || s.RootSessions == Enabled)
}

// Fix is one missing prerequisite and the command that fixes it.
type Fix struct {
	rootsession.Fix
	AWSCommand string `json:"aws_cli_command,omitempty"`
	feature    string // the IAM feature this fix turns on, if it is one
}

// Fixes lists what is missing, each with the command that fixes it.
func (s *Setup) Fixes() []Fix {
	var fixes []Fix
	if s.FeatureSet != "ALL" {
		fixes = append(fixes, Fix{rootsession.Fix{Missing: "the organization does not have all features enabled", Command: "aws organizations enable-all-features (then every member account approves)"}, "", ""})
	}
	if s.CallerRole == RoleMember {
		fixes = append(fixes, Fix{rootsession.Fix{Missing: "the caller is neither the management account nor the IAM delegated administrator", Command: "run rootctl with management-account credentials, or register this account: rootctl enable --delegate " + s.CallerAccount}, "", ""})
	}
	if s.TrustedAccess == Disabled {
		fixes = append(fixes, Fix{rootsession.Fix{Missing: "trusted access for iam.amazonaws.com", Command: "rootctl enable"},
			"aws organizations enable-aws-service-access --service-principal iam.amazonaws.com", ""})
	}
	if s.RootCredentialsManagement == Disabled {
		fixes = append(fixes, Fix{rootsession.Fix{Missing: "the RootCredentialsManagement feature", Command: "rootctl enable --credentials-management"},
			"aws iam enable-organizations-root-credentials-management", rootsession.FeatureRootCredentialsManagement})
	}
	if s.RootSessions == Disabled {
		fixes = append(fixes, Fix{rootsession.Fix{Missing: "the RootSessions feature", Command: "rootctl enable --root-sessions"},
			"aws iam enable-organizations-root-sessions", rootsession.FeatureRootSessions})
	}
	return fixes
}

// Step is one change of a plan to enable centralized root access.
type Step struct {
	Description string
	apply       func(ctx context.Context, cfg aws.Config) error
}

// Apply makes the change.
func (st Step) Apply(ctx context.Context, cfg aws.Config) error { return st.apply(ctx, cfg) }

// EnableRequest says what to turn on.
type EnableRequest struct {
	CredentialsManagement bool
	RootSessions          bool
	Delegate              string // account ID to register as IAM delegated administrator
}

// ErrNotManagement means a change needs the management account.
var ErrNotManagement = errors.New("only the management account can enable centralized root access")

// Plan returns the steps that bring the organization to req, in the order
// AWS needs them: trusted access first, then the features, then the
// delegated administrator. An empty plan means nothing is missing.
func (s *Setup) Plan(req EnableRequest) ([]Step, error) {
	if s.CallerRole != RoleManagement {
		return nil, fmt.Errorf("%w: the caller is in account %s (%s), the management account is %s",
			ErrNotManagement, s.CallerAccount, s.CallerRole, s.ManagementAccount)
	}
	if s.FeatureSet != "ALL" {
		return nil, fmt.Errorf("organization %s has only consolidated billing features; enable all features first (aws organizations enable-all-features)", s.OrganizationID)
	}
	if req.Delegate == s.ManagementAccount {
		return nil, fmt.Errorf("--delegate %s is the management account, which cannot be a delegated administrator", req.Delegate)
	}
	var steps []Step
	if s.TrustedAccess != Enabled {
		steps = append(steps, Step{"enable trusted access for iam.amazonaws.com (organizations:EnableAWSServiceAccess)",
			func(ctx context.Context, cfg aws.Config) error {
				_, err := organizations.NewFromConfig(cfg).EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(IAMServicePrincipal)})
				return err
			}})
	}
	if req.CredentialsManagement && s.RootCredentialsManagement != Enabled {
		steps = append(steps, Step{"enable RootCredentialsManagement (iam:EnableOrganizationsRootCredentialsManagement)",
			func(ctx context.Context, cfg aws.Config) error {
				_, err := iam.NewFromConfig(cfg).EnableOrganizationsRootCredentialsManagement(ctx, &iam.EnableOrganizationsRootCredentialsManagementInput{})
				return err
			}})
	}
	if req.RootSessions && s.RootSessions != Enabled {
		steps = append(steps, Step{"enable RootSessions (iam:EnableOrganizationsRootSessions)",
			func(ctx context.Context, cfg aws.Config) error {
				_, err := iam.NewFromConfig(cfg).EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{})
				return err
			}})
	}
	if req.Delegate != "" && !slices.Contains(s.DelegatedAdministrators, req.Delegate) {
		steps = append(steps, Step{"register " + req.Delegate + " as IAM delegated administrator (organizations:RegisterDelegatedAdministrator)",
			func(ctx context.Context, cfg aws.Config) error {
				_, err := organizations.NewFromConfig(cfg).RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
					AccountId: aws.String(req.Delegate), ServicePrincipal: aws.String(IAMServicePrincipal)})
				return err
			}})
	}
	return steps, nil
}

// Blocking lists the prerequisites that stop every AssumeRoot for task:
// all features, the caller's role, trusted access, and the task's own
// feature. A prerequisite the caller may not read (Unknown) is not listed.
func (s *Setup) Blocking(task rootsession.Task) []Fix {
	var out []Fix
	for _, f := range s.Fixes() {
		if f.feature == "" || f.feature == task.Feature {
			out = append(out, f)
		}
	}
	return out
}

// Prerequisites is an Assumer's Prerequisites for the organization cfg
// reaches: it reads the setup once, the first time a refusal asks, and
// answers every task from it. A read cut short by ctx is tried again by
// the next refusal; any other failed read answers every refusal with its
// error (the refusal stays the account's).
func Prerequisites(cfg aws.Config) func(ctx context.Context, task rootsession.Task) ([]rootsession.Fix, error) {
	var mu sync.Mutex
	var read bool
	var setup *Setup
	var readErr error
	return func(ctx context.Context, task rootsession.Task) ([]rootsession.Fix, error) {
		mu.Lock()
		defer mu.Unlock()
		if !read {
			s, err := ReadSetup(ctx, cfg)
			if err != nil && ctx.Err() != nil {
				return nil, err
			}
			read, setup, readErr = true, s, err
		}
		if readErr != nil {
			return nil, readErr
		}
		var missing []rootsession.Fix
		for _, f := range setup.Blocking(task) {
			missing = append(missing, f.Fix)
		}
		return missing, nil
	}
}

// MemberState reads the State of account id in the organization
// (DescribeAccount); member is false when the organization has no such
// account. enable checks a --delegate with it before any change.
func MemberState(ctx context.Context, cfg aws.Config, id string) (state string, member bool, err error) {
	return orgscan.MemberState(ctx, organizations.NewFromConfig(cfg), id)
}
