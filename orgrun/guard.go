package orgrun

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/preflight"
	"github.com/rootctl/rootctl/rootsession"
)

// Guard is a run's pre-flight check (package preflight): asked before each
// account's root session whether the organization's guardrails refuse the
// work, so that a blocked account is reported blocked, with its causes,
// instead of failing half-way, and no AssumeRoot is attempted for it. An
// account whose guardrails cannot be read or evaluated is attempted as
// before; Notes says how many.
type Guard struct {
	// Checker is what the Guard asks; nil when it could not start. A
	// Guard from StartGuard sets it once built: read it through checker.
	Checker *preflight.Checker
	ready   chan struct{} // closed once StartGuard's build has ended; nil for the others

	mu       sync.Mutex
	built    []string // the build's own notes
	readErr  error    // the first failure to read guardrails
	unread   int      // accounts attempted unchecked because of it
	unknowns int      // accounts attempted whose verdict was unknown
}

// NewGuard returns a Guard that asks c.
func NewGuard(c *preflight.Checker) *Guard { return &Guard{Checker: c} }

// Unchecked returns a Guard that could not start, because err kept it
// from reading the organization's policies: every account is attempted
// unchecked, and Notes says so if any was.
func Unchecked(err error) *Guard { return &Guard{readErr: err} }

// StartGuard returns a Guard that build makes meanwhile (its reads of the
// organization's root and of the caller take round trips that the
// listing need not wait for): each account, and the caller-wide check,
// wait for it instead. build's error makes the Guard Unchecked's; its
// notes are the Guard's.
func StartGuard(build func() (c *preflight.Checker, notes []string, err error)) *Guard {
	g := &Guard{ready: make(chan struct{})}
	go func() {
		defer close(g.ready)
		c, notes, err := build()
		g.mu.Lock()
		defer g.mu.Unlock()
		g.Checker, g.built, g.readErr = c, notes, err
	}()
	return g
}

// checker is the Guard's Checker once built; nil when it could not start,
// or when ctx ended first.
func (g *Guard) checker(ctx context.Context) *preflight.Checker {
	if g.ready != nil {
		select {
		case <-g.ready:
		case <-ctx.Done():
			return nil
		}
	}
	return g.Checker
}

// Err is why the Guard could not read the organization's policies, or nil.
func (g *Guard) Err() error {
	g.checker(context.Background())
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.readErr
}

// Notes says what the run could not do in full, for the user to see
// beside the report: what its pre-flight check could not decide, and OU
// names it could not read.
func (r *Run) Notes() []string {
	return append(r.Guard.Notes(), r.Lister.Notes()...)
}

// Notes says what the check could not decide, for the user to see beside
// the report: nothing when it decided every account.
func (g *Guard) Notes() []string {
	if g == nil {
		return nil
	}
	g.checker(context.Background())
	g.mu.Lock()
	defer g.mu.Unlock()
	notes := slices.Clone(g.built)
	if g.readErr != nil && g.unread > 0 {
		notes = append(notes, fmt.Sprintf("pre-flight: %d accounts were attempted without the guardrail check: %v", g.unread, g.readErr))
	}
	if g.unknowns > 0 {
		notes = append(notes, fmt.Sprintf("pre-flight: %d accounts were attempted though a guardrail statement may refuse them (rootctl cannot evaluate it; see: rootctl preflight)", g.unknowns))
	}
	return notes
}

// guard asks the run's Guard about task in account t: a blocked account is
// decided here (res blocked, with its causes); true says so. actions are
// what the run will call in the session (nil: all the task allows).
func (r *Run) guard(ctx context.Context, t orgscan.Target, task rootsession.Task, actions []string, res *Result) bool {
	g := r.Guard
	if g == nil {
		return false
	}
	c := g.checker(ctx)
	if ctx.Err() != nil {
		return false // interrupted: decided on entering the session
	}
	if c == nil {
		g.mu.Lock()
		g.unread++
		g.mu.Unlock()
		return false
	}
	v, err := c.Check(ctx, preflight.Subject{Account: t.ID, Paths: t.Paths, Task: task, Actions: actions})
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		if g.readErr == nil {
			g.readErr = err
		}
		g.unread++
	case err != nil:
	case v.Verdict == preflight.Blocked:
		res.Status, res.Reason, res.Guardrail = StatusBlocked, BlockedReason(v.Causes), v.Causes
		return true
	case v.Verdict == preflight.Unknown:
		g.unknowns++
	}
	return false
}

// BlockedReason words a blocked account's causes for its report: the
// first, its fix, and how many more there are.
func BlockedReason(causes []preflight.Cause) string {
	if len(causes) == 0 {
		return ""
	}
	s := causes[0].Summary() + "; fix: " + causes[0].Fix
	if n := len(causes) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more causes: see rootctl preflight)", n)
	}
	return s
}

// callerHalt is the refusal of every account's AssumeRoot for task by the
// caller's own SCPs (a delegated administrator's), or nil: decided before
// any account, so that the run stops with one message.
func (r *Run) callerHalt(ctx context.Context, task rootsession.Task) *rootsession.OrgError {
	if r.Guard == nil {
		return nil
	}
	c := r.Guard.checker(ctx)
	if c == nil {
		return nil
	}
	v, err := c.CallerWide(ctx, task)
	if err != nil || v.Verdict != preflight.Blocked {
		return nil // per account, then
	}
	var why []string
	for _, c := range v.Causes {
		why = append(why, c.Summary())
	}
	return &rootsession.OrgError{Missing: []rootsession.Fix{{
		Missing: "an SCP of the caller's account that lets it call sts:AssumeRoot for " + task.Name + " (" + strings.Join(why, "; ") + ")",
		Command: "rootctl from the management account, which SCPs never bind, or " + preflight.CallerChange(v.Causes[0], task),
	}}}
}
