package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootsession"
	"github.com/rootctl/rootctl/unlock"
)

func locksCommand(deps *Deps) *cli.Command {
	var in jobInput
	return &cli.Command{
		Name:      "locks",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "find S3 buckets whose policy locks everyone out, org-wide (S3UnlockBucketPolicy)",
		Description: `For each selected account, with one root session scoped to S3UnlockBucketPolicy
(which allows ListAllMyBuckets and GetBucketPolicy), lists the buckets, reads
each policy in the bucket's region and reports those that lock everyone out,
with the locking statement. Nothing is changed; the sessions are recorded in
the audit log with --reason.

` + exitCodesFor(map[int]string{
			ExitOK: "no locked bucket", ExitFindings: "locked buckets found", ExitPartial: "some accounts could not be checked"}) + `

Examples:
   rootctl locks --sim --reason "INC-7 find the locked bucket"
   rootctl locks --ou ou-ab12-cdef3456 --reason "weekly check" -o json`,
		Flags: in.flags(false),
		Action: func(c *cli.Context) error {
			if err := in.read(c); err != nil {
				return err
			}
			return LocksCommand(c.Context, in, deps)
		},
	}
}

// LocksCommand runs `rootctl locks`.
func LocksCommand(ctx context.Context, in jobInput, deps *Deps) error {
	run, lister, err := in.start(ctx, deps)
	if err != nil {
		return err
	}
	defer run.close()
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	report := &LocksReport{Header: newHeader(lister.Org.ID, run.env.Now())}
	var results orgrun.Collector[LocksAccount, *LocksAccount]
	orgRun := run.orgRun(lister, in.Selection, in.Concurrency)
	orgRun.Guard = newGuard(ctx, deps.IO, run.env.AWS, lister.Org, run.caller, in.Selection, in.NoPreflight)
	listed := orgrun.Survey(ctx, orgRun, locksCheck, results.Add)
	guardNotes(deps.IO, orgRun.Guard)
	report.Accounts = results.Sorted()
	checked := 0
	for i, a := range report.Accounts {
		if a.Locked == nil { // skipped, or not reached
			report.Accounts[i].Locked = []unlock.LockedBucket{}
		}
		report.Locked += len(a.Locked)
		switch a.Status {
		case orgrun.StatusError:
			report.Errors++
		case orgrun.StatusBlocked:
			report.Blocked++
		case orgrun.StatusLocked, orgrun.StatusClear:
			checked++
		}
	}
	if err := listed.Empty("the report is incomplete", "nothing was checked"); err != nil {
		return engineError(err, in.Selection)
	}
	if listed.Halted != nil && checked == 0 {
		return listed.Halted // one message for the organization, and no report of nothing
	}
	if err := export(deps.IO, in.Output, in.Wide, report); err != nil {
		return err
	}
	return engineError(orgrun.Decide(
		orgrun.If(ctx.Err() != nil, orgrun.Interrupted, errors.New("interrupted: the report covers the accounts checked so far")),
		orgrun.If(listed.Halted != nil, orgrun.Failure, fmt.Errorf("%w; %d accounts checked", listed.Halted, checked)),
		listed.Listing("the report is incomplete"),
		orgrun.If(report.Errors > 0, orgrun.Partial, fmt.Errorf("%d accounts could not be checked; see their errors", report.Errors)),
		orgrun.If(report.Blocked > 0, orgrun.Partial, fmt.Errorf("%d accounts are blocked by a guardrail, so they were not checked; see the causes in the report", report.Blocked)),
		orgrun.If(report.Locked > 0, orgrun.Findings, nil),
	), in.Selection)
}

// locksCheck finds the buckets of one account whose policy locks everyone
// out (unlock.FindLocks), with a session scoped to S3UnlockBucketPolicy.
var locksCheck = orgrun.Check[LocksAccount, *LocksAccount]{
	Task:    rootsession.S3Unlock,
	Before:  "interrupted before this account was checked",
	During:  "interrupted while this account was checked",
	Actions: []string{"s3:ListAllMyBuckets", "s3:GetBucketPolicy"},
	Inspect: func(ctx context.Context, lease *rootsession.Lease, a *LocksAccount) (string, error) {
		scan, err := unlock.FindLocks(ctx, lease, a.ID)
		a.Buckets, a.Locked = scan.Buckets, scan.Locked
		switch {
		case err != nil:
			return "", err
		case len(a.Locked) > 0:
			return orgrun.StatusLocked, nil
		}
		return orgrun.StatusClear, nil
	},
}
