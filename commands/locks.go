package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootsession"
	"github.com/rootctl/rootctl/unlock"
)

func locksCommand(deps *Deps) *cli.Command {
	var in LocksInput
	return &cli.Command{
		Name:      "locks",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "find S3 buckets and SQS queues whose policy locks everyone out, org-wide",
		Description: `For each selected account, with two root sessions, one scoped to
S3UnlockBucketPolicy (ListAllMyBuckets, GetBucketPolicy) and one to
SQSUnlockQueuePolicy (ListQueues, GetQueueAttributes): lists the buckets and
reads each policy in the bucket's region, lists the queues in each of
--queue-regions and reads each queue's policy, and reports those that lock
everyone out, with the locking statement, the region and the rootctl unlock
command that repairs each. Nothing is changed; the sessions are recorded in
the audit log with --reason.

` + exitCodesFor(map[int]string{
			ExitOK: "no locked bucket or queue", ExitFindings: "locked buckets or queues found", ExitPartial: "some accounts could not be checked"}) + `

Examples:
   rootctl locks --sim --reason "INC-7 find the locked bucket"
   rootctl locks --ou ou-ab12-cdef3456 --queue-regions us-east-1,eu-west-1 --reason "weekly check" -o json`,
		Flags: append(in.flags(false),
			&cli.StringSliceFlag{Name: "queue-regions", Usage: "list queues in each `REGION,…` (default: the run's region, --region)"}),
		Action: func(c *cli.Context) error {
			if err := in.read(c); err != nil {
				return err
			}
			in.QueueRegions = c.StringSlice("queue-regions")
			if c.IsSet("queue-regions") && len(in.QueueRegions) == 0 {
				in.QueueRegions = []string{""} // refused below, as empty
			}
			return LocksCommand(c.Context, in, deps)
		},
	}
}

// LocksInput holds the options of `rootctl locks`.
type LocksInput struct {
	jobInput
	// QueueRegions are the regions whose queues are listed; none means the
	// run's region.
	QueueRegions []string
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// LocksCommand runs `rootctl locks`.
func LocksCommand(ctx context.Context, in LocksInput, deps *Deps) error {
	for i, r := range in.QueueRegions {
		in.QueueRegions[i] = strings.TrimSpace(r)
		if !regionPattern.MatchString(in.QueueRegions[i]) {
			return usageErrorf("--queue-regions %q: want region names such as us-east-1,eu-west-1", strings.Join(in.QueueRegions, ","))
		}
	}
	run, lister, err := in.start(ctx, deps)
	if err != nil {
		return err
	}
	defer run.close()
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	regions := slices.Compact(slices.Sorted(slices.Values(in.QueueRegions)))
	if len(regions) == 0 {
		regions = []string{run.env.AWS.Region}
	}
	report := &LocksReport{Header: newHeader(lister.Org.ID, run.env.Now()), QueueRegions: regions}
	var results orgrun.Collector[LocksAccount, *LocksAccount]
	orgRun := run.orgRun(lister, in.Selection, in.Concurrency)
	orgRun.Guard = newGuard(ctx, run.env.AWS, lister.Org, run.caller, in.Selection, in.NoPreflight)
	listed := orgrun.Survey(ctx, orgRun, locksCheck(regions), results.Add)
	runNotes(deps.IO, orgRun)
	report.Accounts = results.Sorted()
	checked := 0
	for i := range report.Accounts {
		a := &report.Accounts[i]
		for _, locked := range []*[]LockedResource{&a.Locked, &a.LockedQueues} {
			if *locked == nil { // skipped, or not reached
				*locked = []LockedResource{}
			}
			for j := range *locked {
				(*locked)[j].Command = unlockCommandLine((*locked)[j].Resource, in.AWS, run.log.Reason())
			}
		}
		report.Locked += len(a.Locked)
		report.LockedQueues += len(a.LockedQueues)
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
		orgrun.If(report.Locked+report.LockedQueues > 0, orgrun.Findings, nil),
	), in.Selection)
}

// locksCheck finds the buckets and the queues (in each of regions) of one
// account whose policy locks everyone out: the buckets with a session
// scoped to S3UnlockBucketPolicy (unlock.FindLocks), the queues, once that
// session is issued and at the same time as the buckets, with a second one
// scoped to SQSUnlockQueuePolicy (unlock.FindQueueLocks).
func locksCheck(regions []string) orgrun.Check[LocksAccount, *LocksAccount] {
	return orgrun.Check[LocksAccount, *LocksAccount]{
		Task: rootsession.S3Unlock,
		// What the S3 session calls, for the pre-flight check (the queue
		// session's calls are read-only too, but not pre-checked).
		Actions: []string{"s3:ListAllMyBuckets", "s3:GetBucketPolicy"},
		Before:  "interrupted before this account was checked",
		During:  "interrupted while this account was checked",
		Inspect: func(ctx context.Context, lease *rootsession.Lease, a *LocksAccount) (string, error) {
			// The S3 session first: an organization-wide refusal is met
			// once, not once for each task.
			if _, err := lease.Session(ctx); err != nil {
				return "", err
			}
			var buckets, queues unlock.Scan
			var g errgroup.Group
			g.Go(func() (err error) {
				buckets, err = unlock.FindLocks(ctx, lease, a.ID)
				return err
			})
			g.Go(func() (err error) {
				queues, err = unlock.FindQueueLocks(ctx, lease.For(rootsession.SQSUnlock), a.ID, regions)
				return err
			})
			err := g.Wait()
			a.Buckets, a.Queues = buckets.Buckets, queues.Queues
			a.Locked, a.LockedQueues = reported(buckets.Locked, "bucket"), reported(queues.Locked, "queue")
			switch {
			case err != nil:
				return "", err
			case len(a.Locked)+len(a.LockedQueues) > 0:
				return orgrun.StatusLocked, nil
			}
			return orgrun.StatusClear, nil
		},
	}
}

// reported are the locked resources of a scan, of kind (bucket or queue),
// as the report gives them; the commands that repair them are added once
// the run is over.
func reported(locked []unlock.LockedResource, kind string) []LockedResource {
	out := make([]LockedResource, 0, len(locked))
	for _, l := range locked {
		out = append(out, LockedResource{LockedResource: l, Kind: kind})
	}
	return out
}
