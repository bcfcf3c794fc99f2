package orgrun

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// Check is a read-only spec: for each account, one root session scoped to
// Task, in which Inspect reads what the command reports. audit and locks
// are Checks. R is the command's account record, which embeds Result.
type Check[R any, P Reported[R]] struct {
	Task rootsession.Task
	// Before and During are the reasons given for an account that Ctrl-C
	// kept from being started or finished: "interrupted before this account
	// was audited", "interrupted while this account was being audited".
	Before, During string
	// Recheck, when AssumeRoot fails for an account, describes the account
	// again: one suspended or closed since the listing is skipped, with
	// that reason, rather than reported as an error.
	Recheck bool
	// Actions are what Inspect calls in the session, for the pre-flight
	// check (nil: every action the task allows).
	Actions []string
	// Inspect reads one account in lease's session into r (whose Result
	// the engine has filled) and returns its status. An error is the
	// account's; the engine decides what it means (Result.Fail,
	// interrupted, not reached).
	Inspect func(ctx context.Context, lease *rootsession.Lease, r P) (status string, err error)
}

// Listed is how the listing of a run ended.
type Listed struct {
	Accounts int   // accounts decided, skipped ones included
	Err      error // the listing's failure; nil when the listing ended, or the halt or Ctrl-C ended it
	// Halted is the organization-wide refusal that stopped the run, unless
	// Ctrl-C came as well.
	Halted      *rootsession.OrgError
	Interrupted bool // Ctrl-C
}

// Listing is the outcome of the listing's failure: an OU that is not there
// is the input's (Usage, wrapping orgscan.ErrUnknownOU), any other failure
// the run's (a ListingError, with consequence: "the report is incomplete").
func (l Listed) Listing(consequence string) Outcome { return listing(l.Err, consequence) }

// Empty is the outcome of a run that found nothing to report, or nil: a
// listing that matched no account (NoMatchError), or that failed before
// any account (Listing with consequence). nothing says what was not done
// ("nothing was audited"). A run cut short by Ctrl-C or the halt is never
// empty: what it did is reported.
func (l Listed) Empty(consequence, nothing string) error {
	switch {
	case l.Accounts > 0 || l.Interrupted || l.Halted != nil:
		return nil
	case l.Err != nil:
		o := listing(l.Err, consequence)
		return &o
	}
	return noMatch(nothing)
}

// Survey runs check over every selected account as the listing arrives,
// and hands each account's record to done once it is decided (from many
// goroutines at once: done must be safe for that). Accounts that AssumeRoot
// cannot target are skipped; none is started once the run is interrupted
// or halted by an organization-wide refusal.
func Survey[R any, P Reported[R]](ctx context.Context, run *Run, check Check[R, P], done func(P)) Listed {
	var n atomic.Int64
	halt, err := run.each(ctx, check.Task, func(ctx context.Context, t orgscan.Target) {
		p := P(new(R))
		inspect(ctx, run, check, t, p)
		run.Lister.Name(ctx, &p.result().Account)
		n.Add(1)
		done(p)
	})
	if halt != nil {
		return Listed{Halted: halt}
	}
	return run.listed(ctx, err, int(n.Load()))
}

func inspect[R any, P Reported[R]](ctx context.Context, run *Run, check Check[R, P], t orgscan.Target, p P) {
	res := p.result()
	if !begin(ctx, run.Assumer, t, res, check.Before) || run.guard(ctx, t, check.Task, check.Actions, res) {
		return
	}
	release, ok := run.enter(ctx, t, res, check.Before)
	if !ok {
		return
	}
	defer release()
	status, err := check.Inspect(ctx, run.Assumer.Lease(t.ID, check.Task), p)
	if err == nil {
		res.Status = status
		return
	}
	if check.Recheck && ctx.Err() == nil && errors.As(err, new(*rootsession.AssumeError)) && !errors.As(err, new(*rootsession.OrgError)) {
		if now, derr := run.Lister.Describe(ctx, t.ID); derr == nil && now.Skip != "" {
			res.Account, res.Status, res.Reason = now.Account, StatusSkipped, now.Skip+" (changed since the listing)"
			return
		}
	}
	ended(ctx, err, res, check.During)
}

// listed is how the run's listing ended.
func (r *Run) listed(ctx context.Context, err error, accounts int) Listed {
	l := Listed{Accounts: accounts, Err: err, Interrupted: ctx.Err() != nil}
	if h := r.Assumer.Halted(); h != nil && ctx.Err() == nil {
		l.Halted = h
	}
	return l
}
