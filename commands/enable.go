package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgsetup"
)

// EnableInput holds the options of `rootctl enable`.
type EnableInput struct {
	AWS                   AWSOptions
	CredentialsManagement bool
	RootSessions          bool
	Delegate              string
	DryRun                bool
	Yes                   bool
}

func enableCommand(deps *Deps) *cli.Command {
	var in EnableInput
	return &cli.Command{
		Name:  "enable",
		Usage: "turn on centralized root access: trusted access, the two features, a delegated administrator",
		Description: `With no feature flag, turns on both features (and trusted access for
iam.amazonaws.com first). Idempotent: what is already on is left alone, and a run
with nothing to change says so. Shows its plan, then needs --yes or a typed
confirmation on a terminal. Must run in the management account.

Examples:
   rootctl enable --sim=fresh --yes
   rootctl enable --credentials-management --delegate 222222222201 --dry-run`,
		Flags: append(awsFlags(),
			&cli.BoolFlag{Name: "credentials-management", Destination: &in.CredentialsManagement, Usage: "turn on RootCredentialsManagement (audit, delete, recovery)"},
			&cli.BoolFlag{Name: "root-sessions", Destination: &in.RootSessions, Usage: "turn on RootSessions (S3 and SQS unlock)"},
			&cli.StringFlag{Name: "delegate", Destination: &in.Delegate, Usage: "register `ACCOUNT_ID` as the IAM delegated administrator"},
			&cli.BoolFlag{Name: "dry-run", Destination: &in.DryRun, Usage: "show the plan and change nothing"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Destination: &in.Yes, Usage: "do not ask for confirmation"},
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			in.AWS = awsOptions(c)
			return EnableCommand(c.Context, in, deps)
		},
	}
}

// EnableCommand runs `rootctl enable`.
func EnableCommand(ctx context.Context, in EnableInput, deps *Deps) error {
	if in.Delegate != "" && !awserr.ValidAccountID(in.Delegate) {
		return usageErrorf("--delegate %q: want a 12-digit account ID", in.Delegate)
	}
	if !in.CredentialsManagement && !in.RootSessions {
		in.CredentialsManagement, in.RootSessions = true, true
	}
	env, setup, err := loadSetup(ctx, in.AWS, deps)
	if err != nil {
		return err
	}
	defer env.Close()
	if err := checkDelegate(ctx, env.AWS, setup, in.Delegate); err != nil {
		return err
	}
	steps, err := setup.Plan(orgsetup.EnableRequest{
		CredentialsManagement: in.CredentialsManagement, RootSessions: in.RootSessions, Delegate: in.Delegate})
	if errors.Is(err, orgsetup.ErrNotManagement) {
		return fmt.Errorf("%w (use the management account's credentials: --profile)", err)
	}
	if err != nil {
		return err
	}
	out := deps.IO.Out
	if len(steps) == 0 {
		printf(out, "Nothing to change: organization %s already has what was asked for.\n", setup.OrganizationID)
		return nil
	}
	printf(out, "Plan for organization %s (management account %s):\n", setup.OrganizationID, setup.ManagementAccount)
	for i, st := range steps {
		printf(out, "  %d. %s\n", i+1, st.Description)
	}
	if in.DryRun {
		printf(out, "Dry run: nothing was changed.\n")
		return nil
	}
	if err := confirm(deps.IO, in.Yes, len(steps), fmt.Sprintf("make the %s above in organization %s", plural(len(steps), "change"), setup.OrganizationID)); err != nil {
		return err
	}
	for i, st := range steps {
		if err := st.Apply(ctx, env.AWS); err != nil {
			return fmt.Errorf("step %d (%s): %s; steps before it were applied, rerun rootctl enable to finish",
				i+1, st.Description, awserr.Describe(err))
		}
		printf(out, "done: %s\n", st.Description)
	}
	return nil
}

// checkDelegate refuses, before any change, a --delegate that cannot be
// registered: the management account, an account outside the
// organization, or a suspended or closed account (AWS refuses it with
// ConstraintViolationException CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR,
// after the plan's earlier steps were applied).
func checkDelegate(ctx context.Context, cfg aws.Config, setup *orgsetup.Setup, id string) error {
	if id == "" || setup.CallerRole != orgsetup.RoleManagement {
		return nil // Plan explains a caller that is not the management account
	}
	if id == setup.ManagementAccount {
		return usageErrorf("--delegate %s is the management account, which cannot be a delegated administrator: pass a member account", id)
	}
	state, member, err := orgsetup.MemberState(ctx, cfg, id)
	if err != nil {
		return fmt.Errorf("checking --delegate %s: %s", id, awserr.Describe(err))
	}
	if !member {
		return usageErrorf("--delegate %s is not an account of organization %s: pass a member account", id, setup.OrganizationID)
	}
	if state == "SUSPENDED" || state == "CLOSED" {
		return usageErrorf("--delegate %s is %s, and AWS registers no suspended account as a delegated administrator: pass an active member account", id, state)
	}
	return nil
}
