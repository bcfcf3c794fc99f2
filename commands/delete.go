package commands

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootcreds"
)

// DeleteInput holds the options of `rootctl delete`.
type DeleteInput struct {
	jobInput
	Kinds  rootcreds.Kinds
	Accept []rootcreds.Risk // risky steps to take anyway
}

func deleteCommand(deps *Deps) *cli.Command {
	var in DeleteInput
	return &cli.Command{
		Name:      "delete",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "delete root passwords, access keys, signing certificates and MFA devices (IAMDeleteRootUserCredentials)",
		Description: `For each selected account, with one root session scoped to
IAMDeleteRootUserCredentials: lists the root user's credentials inside that
session, shows the plan, asks (or takes --yes), then deletes access keys and
signing certificates, the password, and MFA devices last, and lists again to
verify. With no kind flag, all four kinds are deleted. Nothing to delete is
success. Every action is recorded in the audit log with --reason. The
accounts must be selected: account IDs, --accounts, --ou, --tag, or
--all-accounts; on a terminal, typing the count of accounts confirms.

` + exitCodesFor(map[int]string{
			ExitOK: "done (or nothing to do)", ExitFindings: "risky steps were held back, so credentials remain (--accept takes them)",
			ExitPartial: "some accounts failed", ExitCancelled: "interrupted (the report says what was done)"}) + `

Examples:
   rootctl delete --sim --accounts 333333333301 --reason "SEC-42 remove root password" --yes
   rootctl delete 111122223333 444455556666 --reason "SEC-42" --dry-run
   rootctl delete --ou ou-ab12-cdef3456 --access-keys --reason "SEC-42" --dry-run
   ROOTCTL_REASON="SEC-42" rootctl delete --accounts 111122223333 -o json --yes`,
		Flags: append(in.flags(true),
			&cli.BoolFlag{Name: "password", Category: "Credentials", Destination: &in.Kinds.Password, Usage: "delete the root password (login profile)"},
			&cli.BoolFlag{Name: "access-keys", Category: "Credentials", Destination: &in.Kinds.AccessKeys, Usage: "delete root access keys"},
			&cli.BoolFlag{Name: "certificates", Category: "Credentials", Destination: &in.Kinds.Certificates, Usage: "delete root signing certificates"},
			&cli.BoolFlag{Name: "mfa", Category: "Credentials", Destination: &in.Kinds.MFA, Usage: "deactivate root MFA devices"},
			&cli.StringSliceFlag{Name: "accept", Category: "Credentials", Usage: "take a risky step the plan holds back: `RISK` is " + riskNames() + " (repeat for both)"},
		),
		Action: func(c *cli.Context) error {
			if err := in.read(c); err != nil {
				return err
			}
			in.Accept = nil
			for _, name := range c.StringSlice("accept") {
				r, err := rootcreds.ParseRisk(strings.TrimSpace(name))
				if err != nil {
					return usageErrorf("--accept: %v", err)
				}
				in.Accept = append(in.Accept, r)
			}
			return DeleteCommand(c.Context, in, deps)
		},
	}
}

// riskNames lists the risks --accept takes.
func riskNames() string {
	var names []string
	for _, r := range rootcreds.Risks {
		names = append(names, string(r))
	}
	return strings.Join(names, " or ")
}

// DeleteCommand runs `rootctl delete`.
func DeleteCommand(ctx context.Context, in DeleteInput, deps *Deps) error {
	kinds := in.Kinds
	if !kinds.Any() {
		kinds = rootcreds.AllKinds()
	}
	return runJobs(ctx, deps, in.jobInput, orgrun.DeleteJob(kinds, in.Accept))
}
