package orgrun

import (
	"context"
	"errors"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/preflight"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// The statuses of an account, in every report of every command: one word
// for one state. An account the run did not finish is interrupted, in
// audit and locks as in delete and the hook.
const (
	// Any command.
	StatusSkipped     = "skipped"     // the management account, or not ACTIVE: AssumeRoot cannot target it
	StatusError       = "error"       // the account could not be read; nothing was changed
	StatusInterrupted = "interrupted" // Ctrl-C, or an organization-wide refusal, came before the account was finished
	StatusBlocked     = "blocked"     // a guardrail (an SCP or RCP) refuses the root session's work; no AssumeRoot was attempted (Result.Guardrail)

	// audit and the hook: what the root user has.
	StatusCompliant       = "compliant"        // no root credentials
	StatusRootCredentials = "root_credentials" // at least one root credential

	// locks.
	StatusLocked = "locked" // a bucket's or queue's policy locks everyone out
	StatusClear  = "clear"  // no bucket or queue is locked

	// delete and recovery (Job).
	StatusNothingToDo = "nothing_to_do"
	StatusPlanned     = "planned"
	StatusDone        = "done"
	StatusFailed      = "failed" // a change failed, or the re-listing found what should be gone
	StatusHeld        = "held"   // every step is a risk the user did not accept; nothing was changed

	// preflight: the worst verdict of the account's tasks (or blocked).
	StatusOK      = "ok"      // no guardrail refuses the tasks' actions
	StatusUnknown = "unknown" // a guardrail statement may refuse them; rootctl cannot evaluate it
	// The hook (provision.Check).
	StatusRemediationFailed = "remediation_failed" // --remediate could not remove every root credential
	StatusTimeout           = "timeout"            // not created or not ACTIVE in time
	StatusNotProvisioned    = "not_provisioned"    // creation failed, or the account is suspended or closing
)

// NotRunReason is the reason given for accounts a run did not reach
// because an organization-wide refusal stopped it.
const NotRunReason = "not reached: AssumeRoot is refused for the whole organization (see the run's error)"

// Result is how one account of a run ended: the fields every report's
// account carries, ahead of its command's own.
type Result struct {
	orgscan.Account
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// Guardrail is why a blocked account is blocked: the policies, their
	// statements and where they are attached, and the fix.
	Guardrail []preflight.Cause `json:"guardrail,omitempty"`
}

// result lets the engine reach the Result of any report's account.
func (r *Result) result() *Result { return r }

// Fail records err as the account's error: its AWS code and its text.
func (r *Result) Fail(err error) {
	r.Status, r.ErrorCode, r.Error = StatusError, awserr.Code(err), ErrorText(err)
}

// Reported is any account record of a report: a struct that embeds Result.
type Reported[R any] interface {
	*R
	result() *Result
}

// ErrorText renders an error for a report: an AssumeError with its hint,
// anything else as "Code: message" (rootsession.Describe).
func ErrorText(err error) string { return rootsession.Describe(err) }

// RootStatus is compliant for a root user with no credential, else
// root_credentials.
func RootStatus(f *rootcreds.Findings) string {
	if f.Empty() {
		return StatusCompliant
	}
	return StatusRootCredentials
}

// begin is the preamble every account goes through before its work: an
// account AssumeRoot cannot target is skipped, and none is started once
// the run is halted (an organization-wide refusal) or interrupted. It
// returns false when r is decided. before is the reason given for an
// account not started because of Ctrl-C.
func begin(ctx context.Context, assumer *rootsession.Assumer, t orgscan.Target, r *Result, before string) bool {
	r.Account = t.Account
	switch {
	case t.Skip != "":
		r.Status, r.Reason = StatusSkipped, t.Skip
	case assumer.Halted() != nil:
		r.Status, r.Reason = StatusInterrupted, NotRunReason
	case ctx.Err() != nil:
		r.Status, r.Reason = StatusInterrupted, before
	default:
		return true
	}
	return false
}

// ended decides an account whose work failed with err: an
// organization-wide refusal leaves it not reached, Ctrl-C interrupted (with
// the reason during), anything else an error. It reports whether err was
// one of the two first.
func ended(ctx context.Context, err error, r *Result, during string) {
	switch {
	case errors.As(err, new(*rootsession.OrgError)):
		r.Status, r.Reason = StatusInterrupted, NotRunReason
	case ctx.Err() != nil:
		r.Status, r.Reason = StatusInterrupted, during
	default:
		r.Fail(err)
	}
}
