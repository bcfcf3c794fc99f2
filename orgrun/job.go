package orgrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// Job is a spec of a command that changes accounts: delete, recovery, and
// the hook's --remediate. The engine runs it as plan, show, ask, apply,
// verify (RunJob): every selected account is planned in a root session
// scoped to Task, the plan is shown and confirmed, the planned accounts
// are locked and changed with the same sessions, each change recorded in
// the audit log before its call, and each account is verified by listing
// again.
type Job struct {
	Command string // "delete", for the plan and the locks
	Task    rootsession.Task
	// Actions are what Plan and Apply call in the session, for the
	// pre-flight check (nil: every action the task allows).
	Actions []string
	// Question completes the typed confirmation "Type N to …" for the
	// planned changes in the planned accounts.
	Question func(changes, accounts int) string
	// Plan inspects the account in its session (AccountJob.Lease) and
	// lists the changes: each Planned, or Held when it is a risk the user
	// did not accept. now is the time risks are judged at.
	Plan func(ctx context.Context, job *AccountJob, now time.Time) ([]rootcreds.Action, error)
	// Apply changes the planned items, telling hooks of each change before
	// its call and of each outcome at once, and lists again: what remains
	// is a failure.
	Apply func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) (remaining []rootcreds.Item, err error)
	// Describe says in the plan what will happen to an item; APIAction
	// names the AWS action for the audit log.
	Describe  func(rootcreds.Item) string
	APIAction func(rootcreds.Item) string
}

// AccountJob is one account of a Job's run: what was planned and what
// happened to each item.
type AccountJob struct {
	Result
	Actions []rootcreds.Action `json:"actions"`
	// Remaining is what the re-listing after the changes still found.
	Remaining []rootcreds.Item `json:"remaining,omitempty"`

	lease *rootsession.Lease
}

// Lease is the account's root session for the Job's task, shared by its
// plan, its changes and its verification.
func (a *AccountJob) Lease() *rootsession.Lease { return a.lease }

// JobSummary counts a Job's accounts by status.
type JobSummary struct {
	Accounts    int `json:"accounts"`
	Planned     int `json:"planned"`
	Done        int `json:"done"`
	NothingToDo int `json:"nothing_to_do"`
	Failed      int `json:"failed"`
	Errors      int `json:"errors"`
	Skipped     int `json:"skipped"`
	Interrupted int `json:"interrupted"`
	Blocked     int `json:"blocked"`
	Changes     int `json:"changes"` // items deleted or created
	// HeldSteps counts the risky steps not taken, in every account.
	HeldSteps int `json:"held_steps"`
}

// JobRun is the state of a Job's run as the engine hands it to its
// Operator: the accounts and their summary.
type JobRun struct {
	Job      Job
	DryRun   bool
	Accounts []AccountJob
	Summary  JobSummary
}

// PlannedChanges counts the changes the plan will make: its planned steps,
// not those held back.
func (r *JobRun) PlannedChanges() int {
	n := 0
	for _, a := range r.Accounts {
		for _, act := range a.Actions {
			if act.Outcome == rootcreds.Planned {
				n++
			}
		}
	}
	return n
}

// count sets the summary from the accounts.
func (r *JobRun) count() {
	r.Summary = JobSummary{}
	s := &r.Summary
	for _, a := range r.Accounts {
		s.Accounts++
		switch a.Status {
		case StatusPlanned:
			s.Planned++
		case StatusDone:
			s.Done++
		case StatusNothingToDo:
			s.NothingToDo++
		case StatusFailed:
			s.Failed++
		case StatusError:
			s.Errors++
		case StatusSkipped:
			s.Skipped++
		case StatusInterrupted:
			s.Interrupted++
		case StatusBlocked:
			s.Blocked++
		}
		for _, act := range a.Actions {
			switch act.Outcome {
			case rootcreds.Deleted, rootcreds.Created:
				s.Changes++
			case rootcreds.Held:
				s.HeldSteps++
			}
		}
	}
}

// Operator is whom the engine shows a Job's plan and asks before it
// changes anything: commands implements it on the user's streams.
type Operator interface {
	// Lock takes the locks of the accounts the plan changes, before the
	// plan is shown, so that no other run changes them between this plan
	// and its changes; release gives them back. A dry run locks nothing.
	Lock(accounts []string) (release func(), err error)
	// ShowPlan shows the planned and held steps.
	ShowPlan(r *JobRun)
	// Confirm asks before n accounts are changed: question completes
	// "Type N to …". An error means no.
	Confirm(n int, question string) error
	// Report writes the run's report: after the run, or what was planned
	// when it stops before any change.
	Report(r *JobRun) error
	// Note tells the user something beside the report.
	Note(text string)
}

// HeldError is a run that held back risky steps, so that credentials
// remain.
type HeldError struct {
	Steps int
	Risks []rootcreds.Risk // each once, in the order met
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%d risky steps were held back, so those credentials remain", e.Steps)
}

// RunJob plans every selected account (one root session each), shows the
// plan, asks, applies it with the same sessions, and reports per account.
// Nothing is changed unless every account was planned: an interruption, an
// organization-wide refusal, or a failed or empty listing stops the run
// before any change.
func RunJob(ctx context.Context, run *Run, job Job, dryRun bool, op Operator) error {
	r := &JobRun{Job: job, DryRun: dryRun}
	var c Collector[AccountJob, *AccountJob]
	halt, listErr := run.each(ctx, job.Task, func(ctx context.Context, t orgscan.Target) {
		a := run.PlanAccount(ctx, job, t)
		run.Lister.Name(ctx, &a.Account)
		c.Add(a)
	})
	if halt != nil {
		return &Outcome{Class: Failure, Err: fmt.Errorf("%w; nothing was changed", halt)}
	}
	r.Accounts = c.Sorted()
	switch halt := run.Assumer.Halted(); {
	case halt != nil && ctx.Err() == nil:
		return &Outcome{Class: Failure, Err: fmt.Errorf("%w; nothing was changed", halt)}
	case ctx.Err() != nil:
		r.count()
		if err := op.Report(r); err != nil {
			return err
		}
		return &Outcome{Class: Interrupted, Err: errors.New("interrupted while planning: nothing was changed")}
	}
	if o := listing(listErr, "nothing was changed"); o.Class != OK {
		return &o
	}
	if len(r.Accounts) == 0 {
		return noMatch("nothing was changed")
	}
	r.count()
	if r.Summary.Planned == 0 {
		if r.Summary.HeldSteps > 0 {
			op.ShowPlan(r)
		}
		op.Note("Nothing to change.\n")
		if err := op.Report(r); err != nil {
			return err
		}
		return run.jobOutcome(ctx, r)
	}
	if !dryRun {
		var planned []string
		for _, a := range r.Accounts {
			if a.Status == StatusPlanned {
				planned = append(planned, a.ID)
			}
		}
		release, err := op.Lock(planned)
		if err != nil {
			return err
		}
		defer release()
	}
	op.ShowPlan(r)
	if dryRun {
		if err := op.Report(r); err != nil {
			return err
		}
		op.Note("Dry run: nothing was changed.\n")
		return run.jobOutcome(ctx, r)
	}
	if err := op.Confirm(r.Summary.Planned, job.Question(r.PlannedChanges(), r.Summary.Planned)); err != nil {
		return err
	}
	var planned []*AccountJob
	for i := range r.Accounts {
		if r.Accounts[i].Status == StatusPlanned {
			planned = append(planned, &r.Accounts[i])
		}
	}
	ForEach(ctx, run.concurrency(), len(planned), func(ctx context.Context, i int) {
		run.ApplyAccount(ctx, job, planned[i])
	})
	r.count()
	if err := op.Report(r); err != nil {
		return err
	}
	return run.jobOutcome(ctx, r)
}

// PlanAccount plans job in the account t, in a root session of its own
// (kept in the AccountJob for the changes): skipped, interrupted, an
// error, nothing to do, held (every step is a risk not accepted), or
// planned.
func (r *Run) PlanAccount(ctx context.Context, job Job, t orgscan.Target) *AccountJob {
	a := &AccountJob{Actions: []rootcreds.Action{}}
	if !begin(ctx, r.Assumer, t, &a.Result, "interrupted before this account was inspected; nothing was changed") ||
		r.guard(ctx, t, job.Task, job.Actions, &a.Result) {
		return a
	}
	release, ok := r.enter(ctx, t, &a.Result, "interrupted before this account was inspected; nothing was changed")
	if !ok {
		return a
	}
	defer release()
	a.lease = r.Assumer.Lease(t.ID, job.Task)
	actions, err := job.Plan(ctx, a, r.now())
	if err != nil {
		ended(ctx, err, &a.Result, "interrupted while this account was inspected; nothing was changed")
		a.lease = nil
		return a
	}
	a.Status = StatusNothingToDo
	for _, act := range actions {
		switch {
		case act.Outcome == rootcreds.Planned:
			a.Status = StatusPlanned
		case a.Status == StatusNothingToDo:
			a.Status = StatusHeld
		}
	}
	a.Actions = append(a.Actions, actions...)
	if a.Status != StatusPlanned {
		a.lease = nil // nothing to apply: its session is not kept until the changes
	}
	return a
}

// ApplyAccount makes a's planned changes. Each change is recorded ahead in
// the run's Journal: its started entry is on disk before its call is
// sent, and a call whose entry cannot be written is not sent (not_done),
// nor is anything after it, in this account or any other.
func (r *Run) ApplyAccount(ctx context.Context, job Job, a *AccountJob) {
	if ctx.Err() != nil {
		interruptJob(a)
		return
	}
	if err := r.Journal.Failed(); err != nil {
		interruptJob(a)
		a.Status, a.Reason, a.Error = StatusFailed, "", logFailedText(err)
		return
	}
	var actions, held []rootcreds.Action
	for _, act := range a.Actions {
		if act.Outcome == rootcreds.Held {
			held = append(held, act)
		}
	}
	remaining, err := job.Apply(ctx, a, rootcreds.Hooks{
		Before: func(it rootcreds.Item) error { return r.Journal.RecordStarted(changeEntry(job, a, it)) },
		After: func(act rootcreds.Action) {
			actions = append(actions, act)
			if act.Outcome == rootcreds.NotDone {
				return
			}
			e := changeEntry(job, a, act.Item)
			e.Outcome, e.RequestID, e.Error, e.Retried = auditlog.Success, act.RequestID, act.Error, act.Retried
			switch act.Outcome {
			case rootcreds.Failed:
				e.Outcome = auditlog.Failed
			case rootcreds.Gone, rootcreds.Existing:
				e.Outcome = auditlog.Unchanged
			}
			r.Journal.Record(e)
		},
		Expired: func(it rootcreds.Item, err error) {
			e := changeEntry(job, a, it)
			e.Outcome, e.Error, e.RequestID = auditlog.Failed, awserr.Describe(err), awserr.RequestID(err)
			r.Journal.Record(e)
		},
	})
	a.Actions, a.Remaining = append(actions, held...), remaining
	a.Status = StatusDone
	for _, act := range actions {
		switch act.Outcome {
		case rootcreds.Failed:
			a.Status, a.Error, a.ErrorCode = StatusFailed, act.Item.String()+": "+act.Error, act.ErrorCode
		case rootcreds.NotDone:
			if a.Status != StatusDone {
				break
			}
			if lerr := r.Journal.Failed(); lerr != nil {
				a.Status, a.Error = StatusFailed, logFailedText(lerr)
			} else {
				a.Status, a.Reason = StatusInterrupted, "interrupted: the items marked not_done were not changed"
			}
		}
	}
	if a.Status == StatusDone && err != nil {
		a.Status, a.ErrorCode, a.Error = StatusFailed, awserr.Code(err), "verifying: "+ErrorText(err)
	}
	if a.Status == StatusDone && len(remaining) > 0 {
		a.Status, a.Error = StatusFailed, fmt.Sprintf("the re-listing still finds %d of the items", len(remaining))
	}
}

// changeEntry is the audit entry of the change to it in a's account,
// naming the session that makes it.
func changeEntry(job Job, a *AccountJob, it rootcreds.Item) auditlog.Entry {
	target := it.ID
	if target == "" {
		target = it.Kind
	}
	return auditlog.Entry{Account: a.ID, Task: job.Task.Name, Action: job.APIAction(it), Target: target, SessionKeyID: a.lease.KeyID()}
}

// logFailedText says why an account's items were not changed.
func logFailedText(err error) string {
	return "the items marked not_done were not changed, as the audit log could not be written: " + err.Error()
}

func interruptJob(a *AccountJob) {
	a.Status, a.Reason = StatusInterrupted, "interrupted before this account was changed"
	for i := range a.Actions {
		a.Actions[i].Outcome = rootcreds.NotDone
	}
}

// LogFailed is the outcome of a run whose audit log could not be written,
// or OK.
func (j *Journal) LogFailed() Outcome {
	if err := j.Failed(); err != nil {
		return Outcome{Class: Failure, Err: fmt.Errorf("the audit log could not be written, so no further change was started: %w", err)}
	}
	return Outcome{}
}

// jobOutcome decides how a Job's run ended.
func (r *Run) jobOutcome(ctx context.Context, jr *JobRun) error {
	s := jr.Summary
	return Decide(
		If(ctx.Err() != nil, Interrupted, fmt.Errorf("interrupted: %d accounts done, %d not done or only partly (see the report)", s.Done, s.Interrupted)),
		r.Journal.LogFailed(),
		If(s.Failed+s.Errors > 0, Partial, fmt.Errorf("%d of %d accounts failed; see their errors in the report", s.Failed+s.Errors, s.Accounts)),
		If(s.Blocked > 0, Partial, fmt.Errorf("%d of %d accounts are blocked by a guardrail, so nothing was done there; see the causes in the report", s.Blocked, s.Accounts)),
		If(s.HeldSteps > 0 && !jr.DryRun, Findings, &HeldError{Steps: s.HeldSteps, Risks: heldRisks(jr)}),
	)
}

// heldRisks lists the risks of a run's held steps, each once.
func heldRisks(jr *JobRun) []rootcreds.Risk {
	var risks []rootcreds.Risk
	seen := map[rootcreds.Risk]bool{}
	for _, a := range jr.Accounts {
		for _, act := range a.Actions {
			if act.Outcome == rootcreds.Held && !seen[act.Risk] {
				seen[act.Risk] = true
				risks = append(risks, act.Risk)
			}
		}
	}
	return risks
}
