package orgrun

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// deleteActions name the AWS action that deletes each kind.
var deleteActions = map[string]string{
	rootcreds.KindAccessKey:          "iam:DeleteAccessKey",
	rootcreds.KindSigningCertificate: "iam:DeleteSigningCertificate",
	rootcreds.KindPassword:           "iam:DeleteLoginProfile",
	rootcreds.KindMFADevice:          "iam:DeactivateMFADevice",
}

// DeleteJob deletes the root credentials of the given kinds: rootctl
// delete, and the hook's --remediate. A risky step (rootcreds.PlanSteps)
// is held back unless its risk is among accept. What was held back is
// meant to remain; anything else the re-listing finds is a failure.
func DeleteJob(kinds rootcreds.Kinds, accept []rootcreds.Risk) Job {
	inspect := func(ctx context.Context, job *AccountJob) (*rootcreds.Findings, error) {
		var f *rootcreds.Findings
		err := job.Lease().Do(ctx, func(cfg aws.Config) error {
			var err error
			f, _, err = rootcreds.Inspect(ctx, cfg, rootcreds.InspectOptions{}) // the delete task has no GetAccountSummary
			return err
		})
		return f, err
	}
	return Job{
		Command: "delete",
		Task:    rootsession.Delete,
		Actions: deleteJobActions(kinds),
		Question: func(changes, accounts int) string {
			return "delete " + plural(changes, "credential") + " in " + plural(accounts, "account")
		},
		Plan: func(ctx context.Context, job *AccountJob, now time.Time) ([]rootcreds.Action, error) {
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
		Apply: func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) ([]rootcreds.Item, error) {
			var items, held []rootcreds.Item
			for _, a := range job.Actions {
				if a.Outcome == rootcreds.Held {
					held = append(held, a.Item)
				} else {
					items = append(items, a.Item)
				}
			}
			actions := rootcreds.Delete(ctx, job.Lease(), items, hooks)
			for _, a := range actions {
				if a.Outcome == rootcreds.NotDone || a.Outcome == rootcreds.Failed {
					return nil, nil // no verification of a run that stopped
				}
			}
			f, err := inspect(context.WithoutCancel(ctx), job)
			if err != nil {
				return nil, err
			}
			var remaining []rootcreds.Item
			for _, it := range rootcreds.Remaining(f, kinds) {
				if !slices.Contains(held, it) {
					remaining = append(remaining, it)
				}
			}
			return remaining, nil
		},
		Describe: func(it rootcreds.Item) string {
			switch it.Kind {
			case rootcreds.KindPassword:
				return "delete the root password"
			case rootcreds.KindMFADevice:
				return "deactivate MFA device " + it.ID
			}
			return "delete " + it.String()
		},
		APIAction: func(it rootcreds.Item) string { return deleteActions[it.Kind] },
	}
}

// inspectActions are what rootcreds.Inspect calls without the account
// summary: the delete task's reads.
var inspectActions = []string{"iam:GetLoginProfile", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListMFADevices", "iam:ListSigningCertificates"}

// deleteJobActions are what a delete of kinds calls: the reads, and the
// deletion of each kind.
func deleteJobActions(kinds rootcreds.Kinds) []string {
	acts := slices.Clone(inspectActions)
	for kind, want := range map[string]bool{rootcreds.KindPassword: kinds.Password, rootcreds.KindAccessKey: kinds.AccessKeys,
		rootcreds.KindSigningCertificate: kinds.Certificates, rootcreds.KindMFADevice: kinds.MFA} {
		if want {
			acts = append(acts, deleteActions[kind])
		}
	}
	slices.Sort(acts[len(inspectActions):])
	return acts
}

// RecoveryJob lets the owner of each account's root email recover the
// root password: a login profile without a password (CreateLoginProfile
// with no parameters) where there is none. An account that already has a
// password has nothing to do.
func RecoveryJob() Job {
	recovery := rootcreds.Item{Kind: rootcreds.KindPassword}
	return Job{
		Command: "recovery",
		Task:    rootsession.CreatePassword,
		Actions: []string{"iam:GetLoginProfile", "iam:CreateLoginProfile"},
		Question: func(_, accounts int) string {
			return "enable password recovery in " + plural(accounts, "account")
		},
		Plan: func(ctx context.Context, job *AccountJob, _ time.Time) ([]rootcreds.Action, error) {
			has, err := rootcreds.HasPassword(ctx, job.Lease())
			if err != nil || has {
				if has {
					job.Reason = "the root user already has a password"
				}
				return nil, err
			}
			return []rootcreds.Action{{Item: recovery, Outcome: rootcreds.Planned}}, nil
		},
		Apply: func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) ([]rootcreds.Item, error) {
			a := rootcreds.EnableRecovery(ctx, job.Lease(), hooks)
			if a.Outcome == rootcreds.Failed || a.Outcome == rootcreds.NotDone {
				return nil, nil
			}
			has, err := rootcreds.HasPassword(context.WithoutCancel(ctx), job.Lease())
			if err != nil {
				return nil, err
			}
			if !has {
				return []rootcreds.Item{recovery}, fmt.Errorf("no login profile after CreateLoginProfile")
			}
			return nil, nil
		},
		Describe:  func(rootcreds.Item) string { return "enable password recovery (login profile without a password)" },
		APIAction: func(rootcreds.Item) string { return "iam:CreateLoginProfile" },
	}
}

// plural counts n things: "1 account", "7 accounts".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
