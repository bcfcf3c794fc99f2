package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// RootState is what an audit of one root user found.
type RootState struct {
	Status string `json:"status"` // compliant or root_credentials
	*rootcreds.Findings
}

// Checked is what the post-provisioning check of a new account found and
// did. Its Status is one of orgrun's: compliant (the account ends with no
// root credentials), root_credentials (found and left), remediation_failed,
// error (the root user could not be audited), timeout, not_provisioned or
// interrupted.
type Checked struct {
	Account   orgscan.Account `json:"account"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	ErrorCode string          `json:"error_code,omitempty"`
	// Found is the root user as first audited; Final is the root user at
	// the end (the same unless remediation changed it). Both are nil when
	// the account could not be audited.
	Found   *RootState         `json:"found"`
	Actions []rootcreds.Action `json:"actions"`
	Final   *RootState         `json:"final"`
}

// Checker runs the post-provisioning check: rootctl hook account-created,
// and the end of rootctl account create.
type Checker struct {
	// Run reaches the organization (Lister), assumes the root sessions
	// (Assumer) and records the remediation's changes ahead (Journal).
	Run *orgrun.Run
	// Lock locks the account before remediation changes it, as delete
	// does; release gives it back.
	Lock func(account string) (release func(), err error)
	// Waiting is told of each state other than ACTIVE the account is seen
	// in, once per change.
	Waiting func(account, state string)
}

// Check waits (under waitCtx) until the account id is ACTIVE, audits its
// root user and, with remediate, deletes what it finds (every kind, no
// risky step held: a pipeline has no one to ask), filling c. The audit
// and the deletions run under ctx: a timeout never cuts a change short.
func (ch *Checker) Check(ctx, waitCtx context.Context, c *Checked, id string, remediate bool) {
	c.Account.ID = id
	if c.Actions == nil {
		c.Actions = []rootcreds.Action{}
	}
	last := ""
	t, err := WaitActive(waitCtx, ch.Run.Lister, id, func(t orgscan.Target) {
		if t.State != last && t.State != "ACTIVE" && ch.Waiting != nil {
			ch.Waiting(id, t.State)
		}
		last = t.State
	})
	if t.ID != "" {
		c.Account = t.Account
	}
	if err != nil {
		c.Fail(ctx, err)
		return
	}
	audit := ch.Run.Assumer.Lease(id, rootsession.Audit)
	found, err := inspectRoot(ctx, audit)
	if err != nil {
		c.Fail(ctx, err)
		return
	}
	c.Found, c.Final = found, found
	c.Status = found.Status
	if found.Status == orgrun.StatusCompliant || !remediate {
		return
	}
	release, err := ch.Lock(id)
	if err != nil {
		c.Fail(ctx, err)
		return
	}
	defer release()
	job := orgrun.DeleteJob(rootcreds.AllKinds(), nil)
	a := ch.Run.PlanAccount(ctx, job, t)
	if a.Status == orgrun.StatusPlanned {
		ch.Run.ApplyAccount(ctx, job, a)
	}
	c.Actions = a.Actions
	final, err := inspectRoot(context.WithoutCancel(ctx), audit)
	switch {
	case err != nil:
		c.Final = nil
		c.Status, c.ErrorCode, c.Error = orgrun.StatusRemediationFailed, awserr.Code(err), "verifying: "+orgrun.ErrorText(err)
	case ctx.Err() != nil && final.Status != orgrun.StatusCompliant:
		c.Final, c.Status = final, orgrun.StatusInterrupted
	case final.Status != orgrun.StatusCompliant:
		c.Final, c.Status = final, orgrun.StatusRemediationFailed
		c.Error = nonEmptyOr(a.Error, "root credentials remain after the deletions")
		c.ErrorCode = a.ErrorCode
	default:
		c.Final, c.Status = final, orgrun.StatusCompliant
	}
}

// inspectRoot audits the root user in the lease's session, as audit does.
func inspectRoot(ctx context.Context, lease *rootsession.Lease) (*RootState, error) {
	f, _, err := rootcreds.Audit(ctx, lease)
	if err != nil {
		return nil, err
	}
	return &RootState{Status: orgrun.RootStatus(f), Findings: f}, nil
}

// Fail records why the check could not finish.
func (c *Checked) Fail(ctx context.Context, err error) {
	switch {
	case errors.Is(err, ErrTimeout):
		c.Status, c.Error = orgrun.StatusTimeout, fmt.Sprintf("account %s is still %s: %v", c.Account.ID, nonEmptyOr(c.Account.State, "not created"), err)
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		c.Status, c.Error = orgrun.StatusInterrupted, "interrupted"
	case errors.Is(err, ErrNotActive):
		c.Status, c.Error = orgrun.StatusNotProvisioned, err.Error()
	default:
		c.Status, c.ErrorCode, c.Error = orgrun.StatusError, awserr.Code(err), orgrun.ErrorText(err)
	}
}

func nonEmptyOr(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
