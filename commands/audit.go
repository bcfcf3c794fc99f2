package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
	"github.com/rootctl/rootctl/rootsession"
)

// AuditInput holds the options of `rootctl audit`.
type AuditInput struct {
	AWS         AWSOptions
	Selection   orgscan.Selection
	Output      string
	Concurrency int
	Rate        float64
	ExitZero    bool
	Wide        bool
	Exceptions  string // --exceptions FILE: findings accepted until an expiry
	Baseline    string // --baseline FILE: a previous audit -o json to compare with
	FailOn      string // --fail-on: any (default) or new open findings make the exit code 3
	NoPreflight bool
}

var auditFormats = []string{formatTable, formatJSON, formatCSV, formatNDJSON, formatOCSF, formatASFF, formatHTML}

func auditCommand(deps *Deps) *cli.Command {
	var in AuditInput
	return &cli.Command{
		Name:      "audit",
		ArgsUsage: "[ACCOUNT_ID…]",
		Usage:     "report every member account's root credentials (password, access keys, MFA, signing certificates)",
		Description: `Fans out over the selected member accounts with sts:AssumeRoot scoped to
IAMAuditRootUserCredentials and reports each root user's password, access keys
(with last use), MFA devices and signing certificates. Accounts are audited as
the organization's listing arrives. The management account and accounts that
are not ACTIVE are listed as skipped, with the reason.

--exceptions FILE accepts findings until each entry's expiry (docs/exceptions.md);
--baseline PREVIOUS.json marks each finding new, persisting or resolved against
an earlier audit -o json. -o ocsf and -o asff export one compliance finding per
account and check (CIS AWS Foundations Benchmark, Security Hub IAM.4/6/9) for
security platforms; -o html writes one self-contained page.

` + exitCodesFor(map[int]string{
			ExitOK:       "no open findings (no root credentials, or every one accepted by a live exception)",
			ExitFindings: "open findings (with --fail-on new: new ones), or a stale exception (unless --exit-zero)",
			ExitPartial:  "some accounts could not be audited"}) + `

Examples:
   rootctl audit --sim
   rootctl audit --ou ou-ab12-cdef3456 -o json > root-audit.json
   rootctl audit --tag env=prod --exclude 111122223333 -o csv
   rootctl audit -o ndjson --concurrency 128 --rate 400 | jq -c 'select(.status != "compliant")'
   rootctl audit --exceptions exceptions.yaml --baseline last-quarter.json -o html > root-audit.html
   rootctl audit -o ocsf > root-audit.ocsf.json
   rootctl audit -o asff --region eu-west-1 > findings.json`,
		Flags: append(append(awsFlags(), selectionFlags()...),
			append(outputFlags(&in.Wide, auditFormats...),
				&cli.IntFlag{Name: "concurrency", Value: orgrun.DefaultConcurrency, Destination: &in.Concurrency,
					Usage: "audit at most `N` accounts at once (the default keeps up with ListAccounts' quota of 8 pages/s)"},
				&cli.Float64Flag{Name: "rate", Destination: &in.Rate, Usage: "send at most `RPS` AWS requests per second, retries included: a ceiling over rootctl's own pacing, which slows down when AWS throttles (0: no ceiling)"},
				&cli.BoolFlag{Name: "exit-zero", Destination: &in.ExitZero, Usage: "exit 0 even when root credentials (or stale exceptions) are found"},
				&cli.StringFlag{Name: "exceptions", Destination: &in.Exceptions, Category: "Evidence",
					Usage: "accept the findings named in `FILE` (YAML or JSON, see docs/exceptions.md) until each entry's expiry"},
				&cli.StringFlag{Name: "baseline", Destination: &in.Baseline, Category: "Evidence",
					Usage: "mark each finding new, persisting or resolved against `PREVIOUS.json`, an earlier audit -o json"},
				&cli.StringFlag{Name: "fail-on", Destination: &in.FailOn, Value: failOnAny, Category: "Evidence",
					Usage: "which open findings make the exit code 3: `any`, or new (not in --baseline)"},
				preflightFlag(&in.NoPreflight),
			)...),
		Action: func(c *cli.Context) error {
			sel, err := selection(c)
			if err != nil {
				return err
			}
			in.AWS, in.Selection, in.Output = awsOptions(c), sel, c.String("output")
			return AuditCommand(c.Context, in, deps)
		},
	}
}

// AuditCommand runs `rootctl audit`.
func AuditCommand(ctx context.Context, in AuditInput, deps *Deps) error {
	if err := checkOutput(in.Output, auditFormats...); err != nil {
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
	if in.FailOn == "" {
		in.FailOn = failOnAny
	}
	if err := checkOption("--fail-on", in.FailOn, failOnAny, failOnNew); err != nil {
		return err
	}
	if in.FailOn == failOnNew && in.Baseline == "" {
		return usageErrorf("--fail-on new needs --baseline PREVIOUS.json: new is what the baseline did not have")
	}
	var base *baseline
	if in.Baseline != "" {
		var err error
		if base, err = loadBaseline(in.Baseline); err != nil {
			return err
		}
	}
	env, err := deps.LoadAWS(ctx, in.AWS, deps.IO)
	if err != nil {
		return err
	}
	defer env.Close()
	var exceptions *evidence.Exceptions
	if in.Exceptions != "" {
		if exceptions, err = loadExceptions(in.Exceptions, env.Now()); err != nil {
			return err
		}
	}
	cfg := env.AWS.Copy()
	awsconfig.LimitRate(&cfg, in.Rate)
	requests := awsconfig.CountRequests(&cfg)

	lister, err := orgscan.NewLister(ctx, cfg)
	if err != nil {
		return fmt.Errorf("reading the organization: %s (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)", awserr.Describe(err))
	}
	if base != nil {
		if err := base.checkOrg(lister.Org.ID); err != nil {
			return err
		}
	}
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	now := env.Now()
	sink := newAuditSink(deps.IO, in, lister.Org, now, newAuditEvidence(in, exceptions, base, now))
	sink.report.region = cfg.Region
	if in.Output == formatASFF {
		if err := sink.importer(ctx, cfg); err != nil {
			return err
		}
	}
	run := &orgrun.Run{Lister: lister, Assumer: newAssumer(cfg, env.Now), Selection: in.Selection, Concurrency: in.Concurrency,
		Guard: newGuard(ctx, cfg, lister.Org, "", in.Selection, in.NoPreflight)}
	stopProgress := sink.startProgress()
	listed := orgrun.Survey(ctx, run, auditCheck, sink.add)
	stopProgress()
	sink.summary.Requests, sink.summary.Throttled, sink.summary.Retries = requests.Requests(), requests.Throttled(), requests.Retries()
	runNotes(deps.IO, run)
	if listed.Halted != nil && sink.summary.Accounts == 0 {
		return listed.Halted // refused before any account: one message, no report of nothing
	}
	if listed.Halted != nil {
		// One message for the organization, not one error per account; a
		// report only when some accounts were audited before it.
		if sink.summary.Audited > 0 {
			if err := sink.finish(); err != nil {
				return err
			}
		}
		return fmt.Errorf("%w; %d accounts audited, %d not", listed.Halted, sink.summary.Audited, sink.summary.Accounts-sink.summary.Audited-sink.summary.Skipped)
	}
	// No report of an audit that audited nothing: an empty one would read
	// as "no root credentials" in a pipeline.
	if err := listed.Empty("the report is incomplete", "nothing was audited"); err != nil {
		return engineError(err, in.Selection)
	}
	if err := sink.finish(); err != nil {
		return err
	}
	s := sink.summary
	return engineError(orgrun.Decide(
		orgrun.If(ctx.Err() != nil, orgrun.Interrupted, fmt.Errorf("interrupted: %d accounts audited, %d not audited", s.Audited, s.Interrupted)),
		listed.Listing("the report is incomplete"),
		orgrun.If(s.Errors > 0, orgrun.Partial, fmt.Errorf("%d of %d accounts could not be audited; see their errors in the report", s.Errors, s.Accounts)),
		orgrun.If(s.Blocked > 0, orgrun.Partial, fmt.Errorf("%d of %d accounts are blocked by a guardrail, so they were not audited; see the causes in the report", s.Blocked, s.Accounts)),
		orgrun.If(sink.evidence.failing(&sink.report) && !in.ExitZero, orgrun.Findings, nil),
	), in.Selection)
}

// auditCheck audits one account with one root session: a session that
// expires mid-audit (a clock ahead of ours, a slow throttled run) is
// assumed once more. When AssumeRoot fails, the account is described again:
// one suspended or closed since the listing is skipped, with that reason.
var auditCheck = orgrun.Check[AccountResult, *AccountResult]{
	Task:    rootsession.Audit,
	Before:  "interrupted before this account was audited",
	During:  "interrupted while this account was being audited",
	Recheck: true,
	Actions: []string{"iam:GetAccountSummary", "iam:GetLoginProfile", "iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListMFADevices", "iam:ListSigningCertificates"},
	Inspect: func(ctx context.Context, lease *rootsession.Lease, r *AccountResult) (string, error) {
		f, calls, err := rootcreds.Audit(ctx, lease)
		r.APICalls = calls + lease.Assumed() + refusedAssumes(err)
		if err != nil {
			return "", err
		}
		r.Findings = f
		return orgrun.RootStatus(f), nil
	},
}

// refusedAssumes is how many AssumeRoot calls failed in err: an
// organization-wide refusal costs one when it was this account's own call,
// none when the halted Assumer answered without asking AWS.
func refusedAssumes(err error) int {
	var orgErr *rootsession.OrgError
	switch {
	case errors.As(err, &orgErr) && orgErr.Err == nil:
		return 0
	case errors.As(err, new(*rootsession.AssumeError)):
		return 1
	}
	return 0
}

// auditSink gathers results as accounts finish: ndjson is written at once
// (so memory stays flat), json encoded at once and written at the end, the
// other formats exported at the end.
type auditSink struct {
	io       *IOStreams
	in       AuditInput
	report   AuditReport
	evidence *auditEvidence

	mu      sync.Mutex
	results orgrun.Collector[AccountResult, *AccountResult]
	encoded []encodedResult // -o json: results encoded as they finish
	summary AuditSummary
	ndjson  *ndjson
	werr    error
}

func newAuditSink(io *IOStreams, in AuditInput, org orgscan.Organization, now time.Time, ev *auditEvidence) *auditSink {
	s := &auditSink{io: io, in: in, evidence: ev, report: AuditReport{Header: newHeader(org.ID, now), Organization: org}}
	if in.Output == "ndjson" {
		s.ndjson = newNDJSON(io.Out, s.report.Header)
	}
	return s
}

func (s *auditSink) add(r *AccountResult) {
	s.mu.Lock()
	s.evidence.account(r)
	s.summary.add(r)
	s.mu.Unlock()
	var err error
	switch {
	case s.ndjson != nil:
		err = s.ndjson.Write(r)
	case s.in.Output == formatJSON:
		var b indentedItem
		b, err = indentItem(r)
		s.mu.Lock()
		s.encoded = append(s.encoded, encodedResult{id: r.ID, json: b})
		s.mu.Unlock()
	default:
		s.results.Add(r)
	}
	if err != nil {
		s.mu.Lock()
		if s.werr == nil {
			s.werr = err
		}
		s.mu.Unlock()
	}
}

// encodedResult is an account's result as -o json writes it.
type encodedResult struct {
	id   string
	json indentedItem
}

// startProgress shows a one-line progress display on stderr when stderr is
// a terminal; the returned func clears it.
func (s *auditSink) startProgress() func() {
	if !s.io.Progress() {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				printf(s.io.ErrOut, "\r\033[K")
				return
			case <-tick.C:
				s.mu.Lock()
				sum := s.summary
				s.mu.Unlock()
				printf(s.io.ErrOut, "\r\033[Kaudited %d accounts: %d with root credentials, %d errors, %d skipped",
					sum.Audited, sum.WithRootCredentials, sum.Errors, sum.Skipped)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// finish writes the report, or with ndjson, whose lines are written, the
// summary on stderr.
func (s *auditSink) finish() error {
	if s.werr != nil {
		return fmt.Errorf("writing the report: %w", s.werr)
	}
	s.report.Summary = s.summary
	s.evidence.finish(&s.report)
	if s.ndjson != nil {
		for _, l := range s.report.evidenceLines() {
			s.io.Infof("%s\n", l)
		}
		s.io.Infof("%s\n", s.report.Summary.line())
		return nil
	}
	if s.in.Output == formatJSON {
		slices.SortFunc(s.encoded, func(a, b encodedResult) int { return strings.Compare(a.id, b.id) })
		s.report.encoded = make([]indentedItem, len(s.encoded))
		for i, e := range s.encoded {
			s.report.encoded[i] = e.json
		}
	} else {
		s.report.Accounts = s.results.Sorted()
	}
	return export(s.io, s.in.Output, s.in.Wide, &s.report)
}
