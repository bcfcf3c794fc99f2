package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// Statuses of an account in a delete or recovery report.
const (
	JobNothing     = "nothing_to_do"
	JobPlanned     = "planned"
	JobDone        = "done"
	JobFailed      = "failed"      // a change failed, or the re-listing found what should be gone
	JobError       = "error"       // the account could not be inspected; nothing was changed
	JobSkipped     = "skipped"     // management account, or not ACTIVE
	JobHeld        = "held"        // every step is a risk the user did not accept; nothing was changed
	JobInterrupted = "interrupted" // Ctrl-C came before this account was finished
)

// AccountJob is one account of a delete or recovery run: what was planned
// and what happened to each item.
type AccountJob struct {
	orgscan.Account
	Status    string             `json:"status"`
	Reason    string             `json:"reason,omitempty"`
	Error     string             `json:"error,omitempty"`
	ErrorCode string             `json:"error_code,omitempty"`
	Actions   []rootcreds.Action `json:"actions"`
	// Remaining is what the re-listing after the changes still found.
	Remaining []rootcreds.Item `json:"remaining,omitempty"`

	lease *rootsession.Lease
}

// JobSummary counts a run's accounts by status.
type JobSummary struct {
	Accounts    int `json:"accounts"`
	Planned     int `json:"planned"`
	Done        int `json:"done"`
	NothingToDo int `json:"nothing_to_do"`
	Failed      int `json:"failed"`
	Errors      int `json:"errors"`
	Skipped     int `json:"skipped"`
	Interrupted int `json:"interrupted"`
	Changes     int `json:"changes"` // items deleted or created
	// HeldSteps counts the risky steps not taken, in every account.
	HeldSteps int `json:"held_steps"`
}

// JobReport is `rootctl delete -o json` and `rootctl recovery -o json`.
type JobReport struct {
	Command     string       `json:"command"`
	GeneratedAt time.Time    `json:"generated_at"`
	Caller      string       `json:"caller"`
	Reason      string       `json:"reason"`
	DryRun      bool         `json:"dry_run"`
	AuditLog    string       `json:"audit_log"`
	Accounts    []AccountJob `json:"accounts"`
	Summary     JobSummary   `json:"summary"`
}

// jobInput is what delete and recovery share.
type jobInput struct {
	AWS         AWSOptions
	Selection   orgscan.Selection
	Root        RootOptions
	Output      string
	Concurrency int
	DryRun      bool
	Yes         bool
}

// jobSpec is what one multi-account root command does to an account.
type jobSpec struct {
	command string
	task    rootsession.Task
	// question completes the typed confirmation "Type N to …" for the
	// planned changes in the planned accounts.
	question func(changes, accounts int) string
	// plan inspects the account in its session and lists the changes: each
	// Planned, or Held when it is a risk the user did not accept. now is
	// the time risks are judged at.
	plan func(ctx context.Context, job *AccountJob, now time.Time) ([]rootcreds.Action, error)
	// apply changes the items, telling hooks of each change before its
	// call and of each outcome at once, and re-lists: what remains is a
	// failure.
	apply func(ctx context.Context, job *AccountJob, hooks rootcreds.Hooks) (remaining []rootcreds.Item, err error)
	// describe says in the plan what will happen to an item; apiAction names
	// the AWS action for the audit log.
	describe  func(rootcreds.Item) string
	apiAction func(rootcreds.Item) string
}

var jobFormats = []string{"table", "json"}

// flags are a multi-account root command's flags; commands that change
// accounts (changes) add --dry-run and --yes.
func (in *jobInput) flags(changes bool) []cli.Flag {
	flags := append(append(awsFlags(), selectionFlags()...), rootFlags(&in.Root)...)
	if changes {
		flags = append(flags, changeFlags(&in.DryRun, &in.Yes)...)
	}
	return append(flags, outputFlag(jobFormats...),
		&cli.IntFlag{Name: "concurrency", Value: orgscan.DefaultConcurrency, Destination: &in.Concurrency, Usage: "work on at most `N` accounts at once"})
}

// read takes the AWS, selection and output flags from c.
func (in *jobInput) read(c *cli.Context) error {
	sel, err := selection(c)
	if err != nil {
		return err
	}
	in.AWS, in.Selection, in.Output = awsOptions(c), sel, c.String("output")
	return nil
}

// start validates the input, opens the root run and reads the organization.
func (in jobInput) start(ctx context.Context, deps *Deps) (*rootRun, *orgscan.Lister, error) {
	if err := in.check(); err != nil {
		return nil, nil, err
	}
	return startOrgRun(ctx, deps, in.AWS, in.Root)
}

func (in jobInput) check() error {
	if err := checkOutput(in.Output, jobFormats...); err != nil {
		return err
	}
	if in.Concurrency < 1 || in.Concurrency > 1000 {
		return usageErrorf("--concurrency %d: want 1 to 1000", in.Concurrency)
	}
	if err := in.Selection.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return in.Root.check()
}

// runJobs plans every selected account (one root session each), shows the
// plan, asks, applies it with the same sessions, and reports per account.
func runJobs(ctx context.Context, deps *Deps, in jobInput, spec jobSpec) error {
	if err := in.check(); err != nil {
		return err
	}
	if err := requireSelection(spec.command, in.Selection); err != nil {
		return err
	}
	if err := canConfirm(deps.IO, in.Yes, in.DryRun); err != nil {
		return err
	}
	run, lister, err := startOrgRun(ctx, deps, in.AWS, in.Root)
	if err != nil {
		return err
	}
	defer run.close()
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	report := &JobReport{Command: spec.command, GeneratedAt: run.env.Now().UTC().Truncate(time.Second), Caller: run.caller,
		Reason: run.log.Reason(), DryRun: in.DryRun, AuditLog: run.log.Path()}

	var mu sync.Mutex
	listErr := fanOutAccounts(ctx, in.Concurrency, lister, in.Selection, run.assumer,
		func(ctx context.Context, t orgscan.Target) {
			job := planAccount(ctx, run, spec, t)
			mu.Lock()
			report.Accounts = append(report.Accounts, *job)
			mu.Unlock()
		})
	sort.Slice(report.Accounts, func(i, j int) bool { return report.Accounts[i].ID < report.Accounts[j].ID })
	switch halt := run.assumer.Halted(); {
	case halt != nil && ctx.Err() == nil:
		return fmt.Errorf("%w; nothing was changed", halt)
	case ctx.Err() != nil:
		report.finish()
		renderJobs(deps.IO, in.Output, report)
		return &exitError{code: ExitCancelled, err: errors.New("interrupted while planning: nothing was changed")}
	case errors.Is(listErr, orgscan.ErrUnknownOU):
		return usageErrorf("--ou %v (list OUs with: aws organizations list-organizational-units-for-parent)", listErr)
	case listErr != nil:
		return &listingError{listErr, "nothing was changed"}
	}
	if len(report.Accounts) == 0 {
		return noMatch(in.Selection, "nothing was changed")
	}
	report.finish()

	planOut := deps.IO.Out
	if in.Output == "json" {
		planOut = deps.IO.ErrOut
	}
	if report.Summary.Planned == 0 {
		if report.Summary.HeldSteps > 0 {
			printPlan(planOut, spec, report)
		}
		deps.IO.Infof("Nothing to change.\n")
		renderJobs(deps.IO, in.Output, report)
		return jobOutcome(ctx, run, report)
	}
	if !in.DryRun {
		// Lock every account the plan changes before it is shown, so that
		// no other run changes them between this plan and its changes.
		var targets []lockTarget
		for _, a := range report.Accounts {
			if a.Status == JobPlanned {
				targets = append(targets, accountLock(a.ID))
			}
		}
		locks, err := takeLocks(deps, spec.command, targets)
		if err != nil {
			return err
		}
		defer locks.release()
	}
	printPlan(planOut, spec, report)
	if in.DryRun {
		renderJobs(deps.IO, in.Output, report)
		deps.IO.Infof("Dry run: nothing was changed.\n")
		return jobOutcome(ctx, run, report)
	}
	if err := confirm(deps.IO, in.Yes, report.Summary.Planned, spec.question(report.plannedChanges(), report.Summary.Planned)); err != nil {
		return err
	}

	var planned []*AccountJob
	for i := range report.Accounts {
		if report.Accounts[i].Status == JobPlanned {
			planned = append(planned, &report.Accounts[i])
		}
	}
	orgscan.ForEach(ctx, in.Concurrency, len(planned), func(ctx context.Context, i int) {
		applyAccount(ctx, run, spec, planned[i])
	})
	report.finish()
	renderJobs(deps.IO, in.Output, report)
	return jobOutcome(ctx, run, report)
}

func planAccount(ctx context.Context, run *rootRun, spec jobSpec, t orgscan.Target) *AccountJob {
	job := &AccountJob{Account: t.Account, Actions: []rootcreds.Action{}}
	switch {
	case t.Skip != "":
		job.Status, job.Reason = JobSkipped, t.Skip
		return job
	case run.assumer.Halted() != nil:
		job.Status, job.Reason = JobInterrupted, notRunReason
		return job
	case ctx.Err() != nil:
		job.Status, job.Reason = JobInterrupted, "interrupted before this account was inspected; nothing was changed"
		return job
	}
	job.lease = run.assumer.Lease(t.ID, spec.task)
	actions, err := spec.plan(ctx, job, run.env.Now())
	if err != nil {
		if errors.As(err, new(*rootsession.OrgError)) {
			job.Status, job.Reason = JobInterrupted, notRunReason
			return job
		}
		if ctx.Err() != nil {
			job.Status, job.Reason = JobInterrupted, "interrupted while this account was inspected; nothing was changed"
			return job
		}
		job.Status, job.ErrorCode, job.Error = JobError, rootsession.ErrorCode(err), errorText(err)
		return job
	}
	job.Status = JobNothing
	for _, a := range actions {
		switch {
		case a.Outcome == rootcreds.Planned:
			job.Status = JobPlanned
		case job.Status == JobNothing:
			job.Status = JobHeld
		}
	}
	job.Actions = append(job.Actions, actions...)
	return job
}

// applyAccount makes job's planned changes. Each change is recorded
// ahead: its started entry is on disk before its call is sent, and a call
// whose entry cannot be written is not sent (not_done), nor is anything
// after it, in this account or any other.
func applyAccount(ctx context.Context, run *rootRun, spec jobSpec, job *AccountJob) {
	if ctx.Err() != nil {
		interruptJob(job)
		return
	}
	if err := run.logFailed(); err != nil {
		interruptJob(job)
		job.Status, job.Reason, job.Error = JobFailed, "", logFailedText(err)
		return
	}
	var actions, held []rootcreds.Action
	for _, a := range job.Actions {
		if a.Outcome == rootcreds.Held {
			held = append(held, a)
		}
	}
	remaining, err := spec.apply(ctx, job, rootcreds.Hooks{
		Before: func(it rootcreds.Item) error { return run.recordStarted(changeEntry(spec, job, it)) },
		After: func(a rootcreds.Action) {
			actions = append(actions, a)
			if a.Outcome == rootcreds.NotDone {
				return
			}
			e := changeEntry(spec, job, a.Item)
			e.Outcome, e.RequestID, e.Error, e.Retried = auditlog.Success, a.RequestID, a.Error, a.Retried
			switch a.Outcome {
			case rootcreds.Failed:
				e.Outcome = auditlog.Failed
			case rootcreds.Gone, rootcreds.Existing:
				e.Outcome = auditlog.Unchanged
			}
			run.record(e)
		},
		Expired: func(it rootcreds.Item, err error) {
			e := changeEntry(spec, job, it)
			e.Outcome, e.Error, e.RequestID = auditlog.Failed, rootsession.Describe(err), rootsession.RequestID(err)
			run.record(e)
		},
	})
	job.Actions, job.Remaining = append(actions, held...), remaining
	job.Status = JobDone
	for _, a := range actions {
		switch a.Outcome {
		case rootcreds.Failed:
			job.Status, job.Error, job.ErrorCode = JobFailed, a.Item.String()+": "+a.Error, a.ErrorCode
		case rootcreds.NotDone:
			if job.Status != JobDone {
				break
			}
			if lerr := run.logFailed(); lerr != nil {
				job.Status, job.Error = JobFailed, logFailedText(lerr)
			} else {
				job.Status, job.Reason = JobInterrupted, "interrupted: the items marked not_done were not changed"
			}
		}
	}
	if job.Status == JobDone && err != nil {
		job.Status, job.ErrorCode, job.Error = JobFailed, rootsession.ErrorCode(err), "verifying: "+errorText(err)
	}
	if job.Status == JobDone && len(remaining) > 0 {
		job.Status, job.Error = JobFailed, fmt.Sprintf("the re-listing still finds %d of the items", len(remaining))
	}
}

// changeEntry is the audit entry of the change to it in job's account,
// naming the session that makes it.
func changeEntry(spec jobSpec, job *AccountJob, it rootcreds.Item) auditlog.Entry {
	target := it.ID
	if target == "" {
		target = it.Kind
	}
	return auditlog.Entry{Account: job.ID, Task: spec.task.Name, Action: spec.apiAction(it), Target: target, SessionKeyID: job.lease.KeyID()}
}

// logFailedText says why an account's items were not changed.
func logFailedText(err error) string {
	return "the items marked not_done were not changed, as the audit log could not be written: " + err.Error()
}

func interruptJob(job *AccountJob) {
	job.Status, job.Reason = JobInterrupted, "interrupted before this account was changed"
	for i := range job.Actions {
		job.Actions[i].Outcome = rootcreds.NotDone
	}
}

// errorText renders an error for a report: an AssumeError with its hint,
// anything else as "Code: message".
func errorText(err error) string {
	var ae *rootsession.AssumeError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return rootsession.Describe(err)
}

// plannedChanges counts the changes the plan will make: its planned
// steps, not those held back.
func (r *JobReport) plannedChanges() int {
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

func (r *JobReport) finish() {
	r.Summary = JobSummary{}
	for _, a := range r.Accounts {
		s := &r.Summary
		s.Accounts++
		switch a.Status {
		case JobPlanned:
			s.Planned++
		case JobDone:
			s.Done++
		case JobNothing:
			s.NothingToDo++
		case JobFailed:
			s.Failed++
		case JobError:
			s.Errors++
		case JobSkipped:
			s.Skipped++
		case JobInterrupted:
			s.Interrupted++
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

// jobOutcome maps a finished run to the documented exit codes.
func jobOutcome(ctx context.Context, run *rootRun, r *JobReport) error {
	s := r.Summary
	switch {
	case ctx.Err() != nil:
		return &exitError{code: ExitCancelled, err: fmt.Errorf("interrupted: %d accounts done, %d not done or only partly (see the report)", s.Done, s.Interrupted)}
	case run.logFailed() != nil:
		return fmt.Errorf("the audit log could not be written, so no further change was started: %w", run.logFailed())
	case s.Failed+s.Errors > 0:
		return &exitError{code: ExitPartial, err: fmt.Errorf("%d of %d accounts failed; see their errors in the report", s.Failed+s.Errors, s.Accounts)}
	case s.HeldSteps > 0 && !r.DryRun:
		return &exitError{code: ExitFindings, err: fmt.Errorf("%d risky steps were held back, so those credentials remain: %s", s.HeldSteps, acceptHint(r))}
	}
	return nil
}

// acceptHint names the --accept flags that would take a report's held
// steps.
func acceptHint(r *JobReport) string {
	var flags []string
	seen := map[rootcreds.Risk]bool{}
	for _, a := range r.Accounts {
		for _, act := range a.Actions {
			if act.Outcome == rootcreds.Held && !seen[act.Risk] {
				seen[act.Risk] = true
				flags = append(flags, "--accept "+string(act.Risk))
			}
		}
	}
	return "review them in the plan, then pass " + strings.Join(flags, " ")
}

func printPlan(w io.Writer, spec jobSpec, r *JobReport) {
	printf(w, "Plan (%s, task policy %s):\n", spec.command, spec.task.Name)
	for _, a := range r.Accounts {
		if a.Status != JobPlanned && a.Status != JobHeld {
			continue
		}
		printf(w, "  %s %s\n", a.ID, a.Name)
		for _, act := range a.Actions {
			if act.Outcome == rootcreds.Held {
				printf(w, "      HELD: %s (%s; risky: pass --accept %s to take this step)\n", spec.describe(act.Item), act.Note, act.Risk)
				continue
			}
			printf(w, "      %s\n", spec.describe(act.Item))
		}
	}
	printf(w, "%d changes in %d accounts.\n", r.plannedChanges(), r.Summary.Planned)
	if r.Summary.HeldSteps > 0 {
		printf(w, "%d risky steps held back.\n", r.Summary.HeldSteps)
	}
}

func renderJobs(io *IOStreams, format string, r *JobReport) {
	if format == "json" {
		printJSON(io.Out, r)
		return
	}
	t := newTable(io.Out, "Account", "Name", "Status", "Credential", "Outcome")
	for _, a := range r.Accounts {
		note := a.Reason
		if a.Error != "" {
			note = a.Error
		}
		if len(a.Actions) == 0 {
			t.Append(a.ID, a.Name, a.Status, "-", orDash(nonEmpty(note)))
			continue
		}
		for i, act := range a.Actions {
			status := a.Status
			if i > 0 {
				status = ""
			}
			outcome := act.Outcome
			if act.Error != "" {
				outcome += ": " + act.Error
			}
			if act.Outcome == rootcreds.Held {
				outcome += ": " + act.Note + " (--accept " + string(act.Risk) + ")"
			}
			t.Append(a.ID, a.Name, status, act.Item.String(), outcome)
		}
	}
	t.Render()
	s := r.Summary
	held := ""
	if s.HeldSteps > 0 {
		held = fmt.Sprintf(", %d risky steps held", s.HeldSteps)
	}
	printf(io.Out, "%d accounts: %d done (%d changes), %d nothing to do, %d planned, %d failed, %d errors, %d skipped, %d interrupted%s\n",
		s.Accounts, s.Done, s.Changes, s.NothingToDo, s.Planned, s.Failed, s.Errors, s.Skipped, s.Interrupted, held)
}

// nonEmpty returns the strings of ss that are not empty.
func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
