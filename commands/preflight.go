package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/preflight"
	"github.com/rootctl/rootctl/rootsession"
)

// PreflightInput holds the options of `rootctl preflight`.
type PreflightInput struct {
	AWS         AWSOptions
	Selection   orgscan.Selection
	Tasks       []rootsession.Task // none: every task
	Output      string
	Concurrency int
	Rate        float64
	Wide        bool
}

var preflightFormats = []string{"table", "json"}

func preflightCommand(deps *Deps) *cli.Command {
	var in PreflightInput
	return &cli.Command{
		Name:      "preflight",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "tell, before a run, which accounts an SCP or RCP will block, and why",
		Description: `For each selected account and root task, reads the service control policies
(SCPs) and resource control policies (RCPs) attached to the account and every
parent up to the root, and judges each action the task's policy allows as a
root session of that account makes it, and the caller's own sts:AssumeRoot
when the caller is the IAM delegated administrator (whose account's SCPs bind
it). Each task is ok, blocked (the policy, its statement, where it is attached,
the actions it denies, and the fix) or unknown (a statement uses a condition
rootctl does not evaluate: read it). No root session is opened and nothing is
changed. With no --task, every task is checked. audit, delete, recovery, locks
and unlock run the same check before each account's root session.

` + exitCodesFor(map[int]string{
			ExitOK: "no guardrail blocks any selected account", ExitFindings: "some accounts are blocked, or may be (unknown)",
			ExitPartial: "the guardrails of some accounts could not be read"}) + `

Examples:
   rootctl preflight --sim
   rootctl preflight --sim --task delete --ou ou-d3m0-legacy01
   rootctl preflight 111122223333 --task s3-unlock -o json`,
		Flags: append(append(awsFlags(), selectionFlags()...),
			append(outputFlags(&in.Wide, preflightFormats...),
				&cli.StringSliceFlag{Name: "task", Usage: "check only `TASK` (repeat for several): " + taskNames() + "; default: every task"},
				&cli.IntFlag{Name: "concurrency", Value: orgrun.DefaultConcurrency, Destination: &in.Concurrency, Usage: "check at most `N` accounts at once"},
				&cli.Float64Flag{Name: "rate", Destination: &in.Rate, Usage: "send at most `RPS` AWS requests per second, retries included (0: no limit beyond Organizations' quotas)"},
			)...),
		Action: func(c *cli.Context) error {
			sel, err := selection(c)
			if err != nil {
				return err
			}
			in.AWS, in.Selection, in.Output, in.Tasks = awsOptions(c), sel, c.String("output"), nil
			for _, name := range c.StringSlice("task") {
				t, err := rootsession.ParseTask(name)
				if err != nil {
					return usageErrorf("--task: %v", err)
				}
				if !slices.Contains(in.Tasks, t) {
					in.Tasks = append(in.Tasks, t)
				}
			}
			return PreflightCommand(c.Context, in, deps)
		},
	}
}

// PreflightAccount is one account of `rootctl preflight`: ok, blocked,
// unknown (the worst of its tasks' verdicts), skipped or error.
type PreflightAccount struct {
	orgrun.Result
	Tasks []preflight.Verdict `json:"tasks"`
}

// PreflightSummary counts a pre-flight check's accounts, and the
// Organizations requests it sent to read the guardrails.
type PreflightSummary struct {
	Accounts    int `json:"accounts"`
	OK          int `json:"ok"`
	Blocked     int `json:"blocked"`
	Unknown     int `json:"unknown"`
	Skipped     int `json:"skipped"`
	Errors      int `json:"errors"`
	Interrupted int `json:"interrupted"`
	Requests    int `json:"requests"`
}

// PreflightReport is `rootctl preflight -o json`.
type PreflightReport struct {
	Header
	Organization orgscan.Organization `json:"organization"`
	Caller       string               `json:"caller"`
	PolicyTypes  []string             `json:"policy_types"` // enabled in the root
	Tasks        []string             `json:"tasks"`
	// CallerWide are the tasks whose AssumeRoot the caller's own SCPs
	// refuse (or may refuse) for every account: a delegated administrator
	// restricted by sts:TaskPolicyArn. The accounts' verdicts say it too.
	CallerWide []preflight.Verdict `json:"caller_wide,omitempty"`
	Accounts   []PreflightAccount  `json:"accounts"`
	Summary    PreflightSummary    `json:"summary"`
}

// PreflightCommand runs `rootctl preflight`.
func PreflightCommand(ctx context.Context, in PreflightInput, deps *Deps) error {
	if err := checkOutput(in.Output, preflightFormats...); err != nil {
		return err
	}
	if in.Concurrency < 1 || in.Concurrency > 1000 {
		return usageErrorf("--concurrency %d: want 1 to 1000", in.Concurrency)
	}
	if in.Rate < 0 || math.IsNaN(in.Rate) || math.IsInf(in.Rate, 0) {
		return usageErrorf("--rate %v: want 0 (no limit) or a positive number of requests per second", in.Rate)
	}
	if err := in.Selection.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	tasks := in.Tasks
	if len(tasks) == 0 {
		tasks = rootsession.Tasks()
	}
	env, err := deps.LoadAWS(ctx, in.AWS, deps.IO)
	if err != nil {
		return err
	}
	defer env.Close()
	cfg := env.AWS.Copy()
	awsconfig.LimitRate(&cfg, in.Rate)
	lister, err := orgscan.NewLister(ctx, cfg)
	if err != nil {
		return fmt.Errorf("reading the organization: %s (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)", awserr.Describe(err))
	}
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	caller, err := awsconfig.CallerARN(ctx, cfg)
	if err != nil {
		return fmt.Errorf("checking the caller's credentials: %s (check --profile, or run: aws sts get-caller-identity)", awserr.Describe(err))
	}
	reader, err := preflight.NewReader(ctx, cfg, lister.Org.ID, preflight.ReaderOptions{Mode: preflight.ModeFor(in.Selection)})
	if err != nil {
		return (&preflight.ReadError{Err: err})
	}
	checker := preflight.NewChecker(reader, lister.Org.ManagementAccount, callerOf(caller), cfg.Region)
	report := &PreflightReport{Header: newHeader(lister.Org.ID, env.Now()), Organization: lister.Org, Caller: caller, Accounts: []PreflightAccount{}}
	for _, typ := range []string{preflight.SCP, preflight.RCP} {
		if reader.Enabled(typ) {
			report.PolicyTypes = append(report.PolicyTypes, typ)
		}
	}
	for _, t := range tasks {
		report.Tasks = append(report.Tasks, t.Alias)
		v, err := checker.CallerWide(ctx, t)
		if err != nil {
			return err
		}
		if v.Verdict != preflight.OK {
			report.CallerWide = append(report.CallerWide, v)
		}
	}

	var mu sync.Mutex
	n := 0
	listErr := orgrun.FanOut(ctx, in.Concurrency,
		func(emit func(orgscan.Target) error) error { return lister.Each(ctx, in.Selection, emit) },
		func(ctx context.Context, t orgscan.Target) {
			a := checkAccount(ctx, checker, t, tasks)
			lister.Name(ctx, &a.Account)
			mu.Lock()
			report.Accounts = append(report.Accounts, a)
			n++
			mu.Unlock()
		})
	listed := orgrun.Listed{Accounts: n, Err: listErr, Interrupted: ctx.Err() != nil}
	if err := listed.Empty("the report is incomplete", "nothing was checked"); err != nil {
		return engineError(err, in.Selection)
	}
	for _, n := range lister.Notes() {
		printf(deps.IO.ErrOut, "Warning: %s\n", n)
	}
	slices.SortFunc(report.Accounts, func(a, b PreflightAccount) int { return strings.Compare(a.ID, b.ID) })
	s := &report.Summary
	for _, a := range report.Accounts {
		s.Accounts++
		switch a.Status {
		case orgrun.StatusOK:
			s.OK++
		case orgrun.StatusBlocked:
			s.Blocked++
		case orgrun.StatusUnknown:
			s.Unknown++
		case orgrun.StatusSkipped:
			s.Skipped++
		case orgrun.StatusError:
			s.Errors++
		case orgrun.StatusInterrupted:
			s.Interrupted++
		}
	}
	for _, c := range reader.Calls() {
		s.Requests += c
	}
	if err := export(deps.IO, in.Output, in.Wide, report); err != nil {
		return err
	}
	return engineError(orgrun.Decide(
		orgrun.If(ctx.Err() != nil, orgrun.Interrupted, fmt.Errorf("interrupted: %d accounts checked, %d not", s.Accounts-s.Interrupted, s.Interrupted)),
		listed.Listing("the report is incomplete"),
		orgrun.If(s.Errors > 0, orgrun.Partial, fmt.Errorf("the guardrails of %d of %d accounts could not be read; see their errors in the report", s.Errors, s.Accounts)),
		orgrun.If(s.Blocked+s.Unknown > 0, orgrun.Findings, nil),
	), in.Selection)
}

// checkAccount checks every task in one account.
func checkAccount(ctx context.Context, c *preflight.Checker, t orgscan.Target, tasks []rootsession.Task) PreflightAccount {
	a := PreflightAccount{Result: orgrun.Result{Account: t.Account}, Tasks: []preflight.Verdict{}}
	switch {
	case t.Skip != "":
		a.Status, a.Reason = orgrun.StatusSkipped, t.Skip
		return a
	case ctx.Err() != nil:
		a.Status, a.Reason = orgrun.StatusInterrupted, "interrupted before this account was checked"
		return a
	}
	a.Status = orgrun.StatusOK
	for _, task := range tasks {
		v, err := c.Check(ctx, preflight.Subject{Account: t.ID, Paths: t.Paths, Task: task})
		if err != nil {
			if ctx.Err() != nil {
				a.Status, a.Reason, a.Tasks = orgrun.StatusInterrupted, "interrupted while this account was checked", []preflight.Verdict{}
				return a
			}
			a.Fail(err)
			a.Tasks = []preflight.Verdict{}
			return a
		}
		a.Tasks = append(a.Tasks, v)
		switch {
		case v.Verdict == preflight.Blocked:
			a.Status = orgrun.StatusBlocked
		case v.Verdict == preflight.Unknown && a.Status == orgrun.StatusOK:
			a.Status = orgrun.StatusUnknown
		}
	}
	return a
}

// callerOf is who a caller ARN names.
func callerOf(callerARN string) preflight.Caller {
	a, err := arn.Parse(callerARN)
	if err != nil {
		return preflight.Caller{ARN: callerARN}
	}
	return preflight.Caller{ARN: callerARN, Account: a.AccountID}
}

// preflightFlag is --no-preflight, for the commands that run the check
// before each account's root session.
func preflightFlag(off *bool) cli.Flag {
	return &cli.BoolFlag{Name: "no-preflight", Destination: off,
		Usage: "do not check the organization's SCPs and RCPs before each root session (rootctl preflight)"}
}

// newGuard is a run's pre-flight check, or nil with --no-preflight, made
// while the run's listing starts (orgrun.StartGuard). The check needs
// Organizations' policy reads; when the organization's root cannot be
// read, the run goes on unchecked, and runNotes warns of it once an
// account was attempted. callerARN is read when "" is given.
func newGuard(ctx context.Context, cfg aws.Config, org orgscan.Organization, callerARN string, sel orgscan.Selection, off bool) *orgrun.Guard {
	if off {
		return nil
	}
	return orgrun.StartGuard(func() (*preflight.Checker, []string, error) {
		return newChecker(ctx, cfg, org, callerARN, sel)
	})
}

// newChecker is the pre-flight check of sel, and a note when it does not
// judge the caller's own AssumeRoot; the error is a ReadError.
func newChecker(ctx context.Context, cfg aws.Config, org orgscan.Organization, callerARN string, sel orgscan.Selection) (*preflight.Checker, []string, error) {
	reader, err := preflight.NewReader(ctx, cfg, org.ID, preflight.ReaderOptions{Mode: preflight.ModeFor(sel)})
	if err != nil {
		return nil, nil, &preflight.ReadError{Err: err}
	}
	var notes []string
	if callerARN == "" && reader.Enabled(preflight.SCP) {
		if callerARN, err = awsconfig.CallerARN(ctx, cfg); err != nil && ctx.Err() == nil {
			notes = append(notes, "the pre-flight check does not judge the caller's own AssumeRoot: reading the caller: "+awserr.Describe(err))
		}
	}
	return preflight.NewChecker(reader, org.ManagementAccount, callerOf(callerARN), cfg.Region), notes, nil
}

// runNotes tells what a run could not do in full (orgrun.Run.Notes).
func runNotes(io *IOStreams, r *orgrun.Run) {
	for _, n := range r.Notes() {
		printf(io.ErrOut, "Warning: %s\n", n)
	}
}

// errBlocked words a single account a guardrail blocks (unlock).
func errBlocked(account string, v preflight.Verdict) error {
	return errors.New("account " + account + " is blocked by a guardrail, so no root session was asked for: " + orgrun.BlockedReason(v.Causes) + " (see: rootctl preflight " + account + " --task " + v.Task + ")")
}

// blockedCell is a blocked account in a table cell: its first cause in a
// few words, and where the whole of it is (the JSON has every cause).
func blockedCell(r orgrun.Result) string {
	if len(r.Guardrail) == 0 {
		return "blocked: " + r.Reason
	}
	return "blocked: " + r.Guardrail[0].Short() + " (see: rootctl preflight " + r.ID + ")"
}
