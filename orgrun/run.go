// Package orgrun is rootctl's organization-wide engine: it lists the
// selected accounts, works on them a bounded number at a time as the
// listing arrives, decides the accounts it skipped or did not finish the
// same way for every command, sorts results by account and words a failed
// listing. A command contributes a spec: a Check reads each account (audit,
// locks), a Job plans, applies and verifies changes to it (delete,
// recovery, the hook's --remediate), with the audit log written ahead of
// every change (Journal). The engine knows nothing of flags or terminals:
// what it shows, asks and locks comes in through an Operator.
package orgrun

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// Run is one organization-wide run.
type Run struct {
	Lister      *orgscan.Lister
	Assumer     *rootsession.Assumer
	Selection   orgscan.Selection
	Concurrency int // at most this many accounts at once (DefaultConcurrency when 0)
	// Clock tells the time risks are judged at (time.Now when nil).
	Clock func() time.Time
	// Journal records every change ahead; needed by Jobs only.
	Journal *Journal
	// Guard, when set, is the pre-flight check asked before each account's
	// root session: an account a guardrail blocks is reported blocked and
	// never assumed into, and a refusal of the caller's own AssumeRoot for
	// every account stops the run before it starts.
	Guard *Guard

	slots *slots // while each runs
}

func (r *Run) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock()
}

func (r *Run) concurrency() int {
	if r.Concurrency < 1 {
		return DefaultConcurrency
	}
	return r.Concurrency
}

// waiting is how many accounts may be listed and waiting, for their
// pre-flight check or a slot, with concurrency slots: the listing goes on
// while the guardrails an account needs are read (at Organizations'
// published pace, about a second for an organization whose OUs carry SCPs
// of their own), instead of stopping once every slot holds an account
// waiting for them. Each waits in a goroutine of its own, whose stack
// grows to the SDK's depth once it works: 4 per slot, and at least 256,
// is 256 at the default 64, some 8 MiB. (16 per slot cost 8 MiB more of
// peak RSS at 10,000 accounts, for no speed: in the synthetic organization
// of the benchmarks, at most some 170 accounts wait at once.)
func waiting(concurrency int) int { return max(4*concurrency, 256) }

// each runs work over the selected accounts as the listing arrives, each
// as soon as it is listed. work enters the account's root session with
// enter, which bounds the accounts in session to Concurrency: an account
// that waits for its guardrails before that holds no slot.
//
// The caller-wide check for task (callerHalt) is made meanwhile, and each
// account waits for it before work: when it refuses, no account is worked
// on or passed to work, the listing stops, and each returns the refusal.
// An organization-wide AssumeRoot refusal halts the assumer, and with it
// the listing: the accounts already listed are still passed to work (which
// sees the halt and reports them not reached), none further is listed.
// work gets ctx itself, so an account in flight is not cut short by the
// halt. The error is the listing's, or nil when a halt ended it.
func (r *Run) each(ctx context.Context, task rootsession.Task, work func(context.Context, orgscan.Target)) (*rootsession.OrgError, error) {
	listCtx, stop := context.WithCancel(ctx)
	defer stop()
	callerDone := make(chan struct{})
	var callerHalt *rootsession.OrgError
	go func() {
		defer close(callerDone)
		callerHalt = r.callerHalt(listCtx, task)
	}()
	r.slots = &slots{free: make(chan struct{}, r.concurrency()), halted: listCtx.Done()}
	defer func() { r.slots = nil }()
	err := FanOut(listCtx, waiting(r.concurrency()),
		func(emit func(orgscan.Target) error) error { return r.Lister.Each(listCtx, r.Selection, emit) },
		func(_ context.Context, t orgscan.Target) {
			if <-callerDone; callerHalt != nil {
				stop()
				return
			}
			work(ctx, t)
			if r.Assumer.Halted() != nil {
				stop()
			}
		})
	stop()
	<-callerDone
	if callerHalt != nil { // no account was worked on: the refusal is the run's, Ctrl-C or not
		return callerHalt, nil
	}
	if r.Assumer.Halted() != nil && ctx.Err() == nil {
		return nil, nil
	}
	return nil, err
}

// slots bounds the accounts in a root session at once.
type slots struct {
	free   chan struct{}   // a slot is taken by sending
	halted <-chan struct{} // the listing's end by halt or Ctrl-C: stop waiting
}

// enter takes a slot for account t's root session, once its pre-flight
// check has passed, and checks again, as begin did, that the run is
// neither halted nor interrupted: false, with res decided, when it is.
// release gives the slot back (a no-op outside each).
func (r *Run) enter(ctx context.Context, t orgscan.Target, res *Result, before string) (release func(), ok bool) {
	release = func() {}
	if s := r.slots; s != nil {
		select {
		case s.free <- struct{}{}:
			release = func() { <-s.free }
		case <-s.halted:
		}
	}
	if !begin(ctx, r.Assumer, t, res, before) {
		release()
		return func() {}, false
	}
	return release, true
}

// Collector gathers a run's results as accounts finish, from any number of
// goroutines.
type Collector[R any, P Reported[R]] struct {
	mu      sync.Mutex
	results []R
}

// Add keeps a copy of r.
func (c *Collector[R, P]) Add(r P) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, *r)
}

// Sorted returns the results sorted by account ID, never nil.
func (c *Collector[R, P]) Sorted() []R {
	c.mu.Lock()
	defer c.mu.Unlock()
	SortByAccount[R, P](c.results)
	if c.results == nil {
		return []R{}
	}
	return c.results
}

// SortByAccount sorts results by account ID.
func SortByAccount[R any, P Reported[R]](results []R) {
	sort.Slice(results, func(i, j int) bool { return P(&results[i]).result().ID < P(&results[j]).result().ID })
}

// ListingError is a failed listing of the organization's accounts, worded
// with what it means for the run and, when the caller was refused, where
// rootctl must run from.
type ListingError struct {
	Err         error
	Consequence string // e.g. "nothing was changed"
}

func (e *ListingError) Error() string {
	msg := fmt.Sprintf("listing accounts failed, so %s: %s", e.Consequence, awserr.Describe(e.Err))
	if awserr.Is(e.Err, "AccessDeniedException", "AccessDenied") {
		msg += " (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)"
	}
	return msg
}

func (e *ListingError) Unwrap() error { return e.Err }

// listing classifies the listing's error for the run's outcome: an OU
// that is not there is the input's (Usage, wrapping orgscan.ErrUnknownOU),
// any other failure the run's, with its consequence.
func listing(err error, consequence string) Outcome {
	switch {
	case err == nil:
		return Outcome{}
	case errors.Is(err, orgscan.ErrUnknownOU):
		return Outcome{Class: Usage, Err: err}
	}
	return Outcome{Class: Failure, Err: &ListingError{Err: err, Consequence: consequence}}
}

// NoMatchError is a selection that matched no account: nothing was done,
// and a report of nothing must not pass for a clean one.
type NoMatchError struct {
	Nothing string // what was not done: "nothing was changed"
}

func (e *NoMatchError) Error() string {
	return "no account of the organization matches the selection, so " + e.Nothing
}

// noMatch is the outcome of a listing that matched no account.
func noMatch(nothing string) error {
	return &Outcome{Class: Usage, Err: &NoMatchError{Nothing: nothing}}
}
