package commands

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
)

// jobInput is what delete and recovery share.
type jobInput struct {
	AWS         AWSOptions
	Selection   orgscan.Selection
	Root        RootOptions
	Output      string
	Concurrency int
	DryRun      bool
	Yes         bool
	Wide        bool
	NoPreflight bool
}

var jobFormats = []string{"table", "json"}

// flags are a multi-account root command's flags; commands that change
// accounts (changes) add --dry-run and --yes.
func (in *jobInput) flags(changes bool) []cli.Flag {
	flags := append(append(awsFlags(), selectionFlags()...), rootFlags(&in.Root)...)
	if changes {
		flags = append(flags, changeFlags(&in.DryRun, &in.Yes)...)
	}
	flags = append(flags, outputFlags(&in.Wide, jobFormats...)...)
	return append(flags, &cli.IntFlag{Name: "concurrency", Value: orgrun.DefaultConcurrency, Destination: &in.Concurrency, Usage: "work on at most `N` accounts at once"},
		preflightFlag(&in.NoPreflight))
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

// runJobs runs job over the selected accounts (orgrun.RunJob): plans
// every account (one root session each), shows the plan, asks, applies it
// with the same sessions, and reports per account.
func runJobs(ctx context.Context, deps *Deps, in jobInput, job orgrun.Job) error {
	if err := in.check(); err != nil {
		return err
	}
	if err := requireSelection(job.Command, in.Selection); err != nil {
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
	op := &jobOperator{deps: deps, in: in, report: &JobReport{Header: newHeader(lister.Org.ID, run.env.Now()), Command: job.Command,
		Caller: run.caller, Reason: run.log.Reason(), DryRun: in.DryRun, AuditLog: run.log.Path()}}
	orgRun := run.orgRun(lister, in.Selection, in.Concurrency)
	orgRun.Guard = newGuard(ctx, run.env.AWS, lister.Org, run.caller, in.Selection, in.NoPreflight)
	err = orgrun.RunJob(ctx, orgRun, job, in.DryRun, op)
	runNotes(deps.IO, orgRun)
	return engineError(err, in.Selection)
}

// jobOperator is the user the engine shows a Job's plan and asks: the
// plan on stdout (stderr with -o json), the typed confirmation, the locks
// of rootctl's state directory.
type jobOperator struct {
	deps   *Deps
	in     jobInput
	report *JobReport
}

func (o *jobOperator) Lock(accounts []string) (func(), error) {
	var targets []lockTarget
	for _, id := range accounts {
		targets = append(targets, accountLock(id))
	}
	locks, err := takeLocks(o.deps, o.report.Command, targets)
	return locks.release, err
}

func (o *jobOperator) ShowPlan(r *orgrun.JobRun) {
	w := o.deps.IO.Out
	if o.in.Output == "json" {
		w = o.deps.IO.ErrOut
	}
	printPlan(w, r)
}

func (o *jobOperator) Confirm(n int, question string) error {
	return confirm(o.deps.IO, o.in.Yes, n, question)
}

func (o *jobOperator) Report(r *orgrun.JobRun) error {
	o.report.Accounts, o.report.Summary = r.Accounts, r.Summary
	return export(o.deps.IO, o.in.Output, o.in.Wide, o.report)
}

func (o *jobOperator) Note(text string) { o.deps.IO.Infof("%s", text) }

func printPlan(w io.Writer, r *orgrun.JobRun) {
	spec := r.Job
	printf(w, "Plan (%s, task policy %s):\n", spec.Command, spec.Task.Name)
	for _, a := range r.Accounts {
		if a.Status != orgrun.StatusPlanned && a.Status != orgrun.StatusHeld {
			continue
		}
		printf(w, "  %s %s\n", a.ID, a.Name)
		for _, act := range a.Actions {
			if act.Outcome == rootcreds.Held {
				printf(w, "      HELD: %s (%s; risky: pass --accept %s to take this step)\n", spec.Describe(act.Item), act.Note, act.Risk)
				continue
			}
			printf(w, "      %s\n", spec.Describe(act.Item))
		}
	}
	printf(w, "%d changes in %d accounts.\n", r.PlannedChanges(), r.Summary.Planned)
	if r.Summary.Blocked > 0 {
		printf(w, "%d accounts are blocked by a guardrail; nothing will be done there:\n", r.Summary.Blocked)
		for _, a := range r.Accounts {
			if a.Status == orgrun.StatusBlocked {
				printf(w, "  %s %s: %s\n", a.ID, a.Name, a.Reason)
			}
		}
	}
	if r.Summary.HeldSteps > 0 {
		printf(w, "%d risky steps held back.\n", r.Summary.HeldSteps)
	}
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
