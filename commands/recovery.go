package commands

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgrun"
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

` + exitCodesFor(map[int]string{ExitOK: "done (or nothing to do)", ExitPartial: "some accounts failed"}) + `

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
	return runJobs(ctx, deps, in, orgrun.RecoveryJob())
}
