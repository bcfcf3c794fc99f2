package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
	"github.com/rootctl/rootctl/unlock"
)

// LockedBucket is a bucket whose policy locks everyone out.
type LockedBucket struct {
	unlock.Resource
	Locks []unlock.Lock `json:"locking_statements"`
}

// LocksAccount is one account of `rootctl locks`.
type LocksAccount struct {
	orgscan.Account
	Status    string         `json:"status"` // locked, clear, skipped, error, cancelled
	Reason    string         `json:"reason,omitempty"`
	Error     string         `json:"error,omitempty"`
	ErrorCode string         `json:"error_code,omitempty"`
	Buckets   int            `json:"buckets"`
	Locked    []LockedBucket `json:"locked_buckets"`
}

// LocksReport is `rootctl locks -o json`.
type LocksReport struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Accounts    []LocksAccount `json:"accounts"`
	Locked      int            `json:"locked_buckets"`
	Errors      int            `json:"errors"`
}

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

Exit codes: 0 no locked bucket; 3 locked buckets found; 4 some accounts could
not be checked; 1 other failure; 2 usage error; 130 interrupted.

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
	report := &LocksReport{GeneratedAt: run.env.Now().UTC().Truncate(time.Second), Accounts: []LocksAccount{}}
	var mu sync.Mutex
	listErr := fanOutAccounts(ctx, in.Concurrency, lister, in.Selection, run.assumer,
		func(ctx context.Context, t orgscan.Target) {
			a := findLocks(ctx, run, t)
			mu.Lock()
			report.Accounts = append(report.Accounts, a)
			mu.Unlock()
		})
	sort.Slice(report.Accounts, func(i, j int) bool { return report.Accounts[i].ID < report.Accounts[j].ID })
	for _, a := range report.Accounts {
		report.Locked += len(a.Locked)
		if a.Status == StatusError {
			report.Errors++
		}
	}
	if errors.Is(listErr, orgscan.ErrUnknownOU) {
		return usageErrorf("--ou %v", listErr)
	}
	if listErr == nil && ctx.Err() == nil && len(report.Accounts) == 0 {
		return noMatch(in.Selection, "nothing was checked")
	}
	checked := 0
	for _, a := range report.Accounts {
		if a.Status == "locked" || a.Status == "clear" {
			checked++
		}
	}
	halt := run.assumer.Halted()
	if halt != nil && ctx.Err() == nil && checked == 0 {
		return halt // one message for the organization, and no report of nothing
	}
	if in.Output == "json" {
		printJSON(deps.IO.Out, report)
	} else {
		t := newTable(deps.IO.Out, "Account", "Name", "Bucket", "Region", "Locking statement")
		for _, a := range report.Accounts {
			for _, b := range a.Locked {
				for _, l := range b.Locks {
					t.Append(a.ID, a.Name, b.Name, b.Region, l.String())
				}
			}
			if a.Status == StatusError {
				t.Append(a.ID, a.Name, "-", "-", "error: "+a.Error)
			}
		}
		t.Render()
		printf(deps.IO.Out, "%d accounts: %d locked buckets, %d errors\n", len(report.Accounts), report.Locked, report.Errors)
	}
	switch {
	case ctx.Err() != nil:
		return &exitError{code: ExitCancelled, err: errors.New("interrupted: the report covers the accounts checked so far")}
	case halt != nil:
		return fmt.Errorf("%w; %d accounts checked", halt, checked)
	case listErr != nil:
		return &listingError{listErr, "the report is incomplete"}
	case report.Errors > 0:
		return &exitError{code: ExitPartial, err: fmt.Errorf("%d accounts could not be checked; see their errors", report.Errors)}
	case report.Locked > 0:
		return &exitError{code: ExitFindings}
	}
	return nil
}

func findLocks(ctx context.Context, run *rootRun, t orgscan.Target) LocksAccount {
	a := LocksAccount{Account: t.Account, Locked: []LockedBucket{}}
	switch {
	case t.Skip != "":
		a.Status, a.Reason = StatusSkipped, t.Skip
		return a
	case run.assumer.Halted() != nil:
		a.Status, a.Reason = StatusCancelled, notRunReason
		return a
	case ctx.Err() != nil:
		a.Status, a.Reason = StatusCancelled, "interrupted before this account was checked"
		return a
	}
	lease := run.assumer.Lease(t.ID, rootsession.S3Unlock)
	err := lease.Do(ctx, func(cfg aws.Config) error {
		buckets, err := unlock.Buckets(ctx, cfg, t.ID)
		if err != nil {
			return err
		}
		a.Buckets = len(buckets)
		for _, b := range buckets {
			policy, err := unlock.Policy(ctx, cfg, b)
			if err != nil {
				return fmt.Errorf("bucket %s: %w", b.Name, err)
			}
			if policy == nil {
				continue
			}
			if an, err := unlock.Analyze(unlock.S3, b.ARN(), *policy); err == nil && an.Lockout() {
				a.Locked = append(a.Locked, LockedBucket{Resource: b, Locks: an.Locks})
			}
		}
		return nil
	})
	switch {
	case errors.As(err, new(*rootsession.OrgError)):
		a.Status, a.Reason = StatusCancelled, notRunReason
	case err != nil && ctx.Err() != nil:
		a.Status, a.Reason = StatusCancelled, "interrupted while this account was checked"
	case err != nil:
		a.Status, a.ErrorCode, a.Error = StatusError, awserr.Code(err), errorText(err)
	case len(a.Locked) > 0:
		a.Status = "locked"
	default:
		a.Status = "clear"
	}
	return a
}
