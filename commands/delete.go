package commands

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
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

Exit codes: 0 done (or nothing to do); 4 some accounts failed; 1 other
failure; 2 usage error; 130 interrupted (the report says what was done).

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

// deleteActions name the AWS action that deletes each kind.
var deleteActions = map[string]string{
	rootcreds.KindAccessKey:          "iam:DeleteAccessKey",
	rootcreds.KindSigningCertificate: "iam:DeleteSigningCertificate",
	rootcreds.KindPassword:           "iam:DeleteLoginProfile",
	rootcreds.KindMFADevice:          "iam:DeactivateMFADevice",
}

// DeleteCommand runs `rootctl delete`.
func DeleteCommand(ctx context.Context, in DeleteInput, deps *Deps) error {
	kinds := in.Kinds
	if !kinds.Any() {
		kinds = rootcreds.AllKinds()
	}
	return runJobs(ctx, deps, in.jobInput, deleteSpec(kinds, in.Accept))
}

// deleteSpec deletes the root credentials of the given kinds: delete, and
// the provisioning hook's --remediate. A risky step (rootcreds.PlanSteps)
// is held back unless its risk is among accept.
func deleteSpec(kinds rootcreds.Kinds, accept []rootcreds.Risk) jobSpec {
	inspect := func(ctx context.Context, job *AccountJob) (*rootcreds.Findings, error) {
		var f *rootcreds.Findings
		err := job.lease.Do(ctx, func(cfg aws.Config) error {
			var err error
			f, _, err = rootcreds.Inspect(ctx, cfg, rootcreds.InspectOptions{}) // the delete task has no GetAccountSummary
			return err
		})
		return f, err
	}
	return jobSpec{
		command: "delete",
		task:    rootsession.Delete,
		question: func(changes, accounts int) string {
			return "delete " + plural(changes, "credential") + " in " + plural(accounts, "account")
		},
		plan: func(ctx context.Context, job *AccountJob, now time.Time) ([]rootcreds.Action, error) {
			f, err := inspect(ctx, job)
			if err != nil {
				return nil, err
			}
			var actions []rootcreds.Action
			for _, st := range rootcreds.PlanSteps(f, kinds, now) {
				a := rootcreds.Action{Item: st.Item, Outcome: rootcreds.Planned, Risk: st.Risk, Note: st.Why}
				if st.Risk != "" && !slices.Contains(accept, st.Risk) {
					a.Outcome = rootcreds.Held
				}
				actions = append(actions, a)
			}
			return actions, nil
		},
		apply: func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) ([]rootcreds.Item, error) {
			var items, held []rootcreds.Item
			for _, a := range job.Actions {
				if a.Outcome == rootcreds.Held {
					held = append(held, a.Item)
				} else {
					items = append(items, a.Item)
				}
			}
			actions := rootcreds.Delete(ctx, job.lease, items, hooks)
			for _, a := range actions {
				if a.Outcome == rootcreds.NotDone || a.Outcome == rootcreds.Failed {
					return nil, nil // no verification of a run that stopped
				}
			}
			f, err := inspect(context.WithoutCancel(ctx), job)
			if err != nil {
				return nil, err
			}
			// What was held back is meant to remain; anything else is a failure.
			var remaining []rootcreds.Item
			for _, it := range rootcreds.Remaining(f, kinds) {
				if !slices.Contains(held, it) {
					remaining = append(remaining, it)
				}
			}
			return remaining, nil
		},
		describe: func(it rootcreds.Item) string {
			switch it.Kind {
			case rootcreds.KindPassword:
				return "delete the root password"
			case rootcreds.KindMFADevice:
				return "deactivate MFA device " + it.ID
			}
			return "delete " + it.String()
		},
		apiAction: func(it rootcreds.Item) string { return deleteActions[it.Kind] },
	}
}
