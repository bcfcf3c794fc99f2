package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

func recoveryCommand(deps *Deps) *cli.Command {
	var in jobInput
	return &cli.Command{
		Name:      "recovery",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "let the root email's owner recover the root password (IAMCreateRootUserPassword)",
		Description: `For each selected account without a root password, with one root session
scoped to IAMCreateRootUserPassword: creates a login profile without a password
(CreateLoginProfile with no parameters), so that the owner of the root email
address can set one through "Forgot password" on the sign-in page. An account
that already has a password is reported, not failed. The accounts must be
selected: account IDs, --accounts, --ou, --tag, or --all-accounts.

Exit codes: 0 done (or nothing to do); 4 some accounts failed; 1 other
failure; 2 usage error; 130 interrupted.

Examples:
   rootctl recovery --sim --accounts 222222222202 --reason "SEC-77 owner lost access" --yes
   rootctl recovery --accounts 111122223333 --reason "SEC-77" --dry-run`,
		Flags: in.flags(true),
		Action: func(c *cli.Context) error {
			if err := in.read(c); err != nil {
				return err
			}
			return RecoveryCommand(c.Context, in, deps)
		},
	}
}

// RecoveryCommand runs `rootctl recovery`.
func RecoveryCommand(ctx context.Context, in jobInput, deps *Deps) error {
	recovery := rootcreds.Item{Kind: rootcreds.KindPassword}
	return runJobs(ctx, deps, in, jobSpec{
		command: "recovery",
		task:    rootsession.CreatePassword,
		question: func(_, accounts int) string {
			return "enable password recovery in " + plural(accounts, "account")
		},
		plan: func(ctx context.Context, job *AccountJob, _ time.Time) ([]rootcreds.Action, error) {
			has, err := rootcreds.HasPassword(ctx, job.lease)
			if err != nil || has {
				if has {
					job.Reason = "the root user already has a password"
				}
				return nil, err
			}
			return []rootcreds.Action{{Item: recovery, Outcome: rootcreds.Planned}}, nil
		},
		apply: func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) ([]rootcreds.Item, error) {
			a := rootcreds.EnableRecovery(ctx, job.lease, hooks)
			if a.Outcome == rootcreds.Failed || a.Outcome == rootcreds.NotDone {
				return nil, nil
			}
			has, err := rootcreds.HasPassword(context.WithoutCancel(ctx), job.lease)
			if err != nil {
				return nil, err
			}
			if !has {
				return []rootcreds.Item{recovery}, fmt.Errorf("no login profile after CreateLoginProfile")
			}
			return nil, nil
		},
		describe:  func(rootcreds.Item) string { return "enable password recovery (login profile without a password)" },
		apiAction: func(rootcreds.Item) string { return "iam:CreateLoginProfile" },
	})
}
