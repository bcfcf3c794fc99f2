package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
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
}

// AccountResult is one account of an audit report. The credential fields
// are present for audited accounts only.
type AccountResult struct {
	orgrun.Result
	*rootcreds.Findings
	APICalls int `json:"api_calls"`
}

// AuditSummary counts an audit's results.
type AuditSummary struct {
	Accounts            int `json:"accounts"`
	Audited             int `json:"audited"`
	Compliant           int `json:"compliant"`
	WithRootCredentials int `json:"with_root_credentials"`
	Skipped             int `json:"skipped"`
	Errors              int `json:"errors"`
	Interrupted         int `json:"interrupted"`
	Passwords           int `json:"passwords"`
	AccessKeys          int `json:"access_keys"`
	ActiveAccessKeys    int `json:"active_access_keys"`
	MFADevices          int `json:"mfa_devices"`
	SigningCertificates int `json:"signing_certificates"`
	// APICalls sums the accounts' api_calls: the AssumeRoot and IAM calls
	// of each, one per call however many times it was sent.
	APICalls int `json:"api_calls"`
	// Requests counts every HTTP request of the run (the Organizations
	// listing too), each retry included; Throttled, those answered with a
	// throttling error; Retries, those that were a call's second or later
	// attempt.
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"`
	Retries   int `json:"retries"`
}

func (s *AuditSummary) add(r *AccountResult) {
	s.Accounts++
	s.APICalls += r.APICalls
	switch r.Status {
	case orgrun.StatusSkipped:
		s.Skipped++
	case orgrun.StatusError:
		s.Errors++
	case orgrun.StatusInterrupted:
		s.Interrupted++
	case orgrun.StatusCompliant:
		s.Audited++
		s.Compliant++
	case orgrun.StatusRootCredentials:
		s.Audited++
		s.WithRootCredentials++
		f := r.Findings
		if f.Password != nil {
			s.Passwords++
		}
		s.AccessKeys += len(f.AccessKeys)
		for _, k := range f.AccessKeys {
			if k.Status == "Active" {
				s.ActiveAccessKeys++
			}
		}
		s.MFADevices += len(f.MFADevices)
		s.SigningCertificates += len(f.SigningCertificates)
	}
}

// AuditReport is `rootctl audit -o json`: one document, field names stable.
type AuditReport struct {
	Organization orgscan.Organization `json:"organization"`
	GeneratedAt  time.Time            `json:"generated_at"`
	Accounts     []AccountResult      `json:"accounts"`
	Summary      AuditSummary         `json:"summary"`
}

var auditFormats = []string{"table", "json", "csv", "ndjson"}

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

Exit codes: 0 no root credentials found; 3 root credentials found (unless
--exit-zero); 4 some accounts could not be audited; 1 other failure; 2 usage
error; 130 interrupted.

Examples:
   rootctl audit --sim
   rootctl audit --ou ou-ab12-cdef3456 -o json > root-audit.json
   rootctl audit --tag env=prod --exclude 111122223333 -o csv
   rootctl audit -o ndjson --concurrency 128 --rate 400 | jq -c 'select(.status != "compliant")'`,
		Flags: append(append(awsFlags(), selectionFlags()...),
			outputFlag(auditFormats...),
			&cli.IntFlag{Name: "concurrency", Value: orgrun.DefaultConcurrency, Destination: &in.Concurrency,
				Usage: "audit at most `N` accounts at once (the default keeps up with ListAccounts' quota of 8 pages/s)"},
			&cli.Float64Flag{Name: "rate", Destination: &in.Rate, Usage: "send at most `RPS` AWS requests per second, retries included: a ceiling over rootctl's own pacing, which slows down when AWS throttles (0: no ceiling)"},
			&cli.BoolFlag{Name: "exit-zero", Destination: &in.ExitZero, Usage: "exit 0 even when root credentials are found"},
		),
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
	env, err := deps.LoadAWS(ctx, in.AWS, deps.IO)
	if err != nil {
		return err
	}
	defer env.Close()
	cfg := env.AWS.Copy()
	awsconfig.LimitRate(&cfg, in.Rate)
	requests := awsconfig.CountRequests(&cfg)

	lister, err := orgscan.NewLister(ctx, cfg)
	if err != nil {
		return fmt.Errorf("reading the organization: %s (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)", awserr.Describe(err))
	}
	if err := checkSelection(ctx, lister, in.Selection); err != nil {
		return err
	}
	run := &orgrun.Run{Lister: lister, Assumer: newAssumer(cfg, env.Now), Selection: in.Selection, Concurrency: in.Concurrency}
	sink := newAuditSink(deps.IO, in, lister.Org, env.Now())
	stopProgress := sink.startProgress()
	listed := orgrun.Survey(ctx, run, auditCheck, sink.add)
	stopProgress()
	sink.summary.Requests, sink.summary.Throttled, sink.summary.Retries = requests.Requests(), requests.Throttled(), requests.Retries()
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
		orgrun.If(s.WithRootCredentials > 0 && !in.ExitZero, orgrun.Findings, nil),
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
// (so memory stays flat), the other formats are rendered at the end.
type auditSink struct {
	io      *IOStreams
	in      AuditInput
	org     orgscan.Organization
	started time.Time

	mu      sync.Mutex
	results []AccountResult
	summary AuditSummary
	ndjson  *json.Encoder
	werr    error
}

func newAuditSink(io *IOStreams, in AuditInput, org orgscan.Organization, now time.Time) *auditSink {
	s := &auditSink{io: io, in: in, org: org, started: now.UTC().Truncate(time.Second)}
	if in.Output == "ndjson" {
		s.ndjson = json.NewEncoder(io.Out)
	}
	return s
}

func (s *auditSink) add(r *AccountResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.summary.add(r)
	if s.ndjson != nil {
		if err := s.ndjson.Encode(r); err != nil && s.werr == nil {
			s.werr = err
		}
		return
	}
	s.results = append(s.results, *r)
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

func (s *auditSink) finish() error {
	if s.werr != nil {
		return fmt.Errorf("writing the report: %w", s.werr)
	}
	orgrun.SortByAccount(s.results)
	switch s.in.Output {
	case "json":
		accounts := s.results
		if accounts == nil {
			accounts = []AccountResult{}
		}
		return printJSON(s.io.Out, AuditReport{Organization: s.org, GeneratedAt: s.started, Accounts: accounts, Summary: s.summary})
	case "csv":
		return writeAuditCSV(s.io.Out, s.results)
	case "ndjson":
		s.io.Infof("%s\n", summaryLine(s.summary))
		return nil
	}
	return writeAuditTable(s.io, s.results, s.summary)
}

func summaryLine(s AuditSummary) string {
	return fmt.Sprintf("%d accounts: %d compliant, %d with root credentials, %d skipped, %d errors%s (%d API calls%s)",
		s.Accounts, s.Compliant, s.WithRootCredentials, s.Skipped, s.Errors, interruptedNote(s.Interrupted), s.APICalls, retriesNote(s))
}

// retriesNote tells what retries cost, when there were any.
func retriesNote(s AuditSummary) string {
	if s.Retries == 0 {
		return ""
	}
	return fmt.Sprintf("; %d requests, %d throttled, %d retries", s.Requests, s.Throttled, s.Retries)
}

func interruptedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d not audited (interrupted)", n)
}

func writeAuditTable(ios *IOStreams, results []AccountResult, sum AuditSummary) error {
	w := ios.Out
	t := newTable(w, "Account", "Name", "Result", "Password", "Access keys", "MFA devices", "Signing certificates")
	for _, r := range results {
		row := []any{r.ID, r.Name, ios.Color(statusColor(r.Status), resultCell(r)), "", "", "", ""}
		if f := r.Findings; f != nil {
			row[3], row[4], row[5], row[6] = passwordCell(f), keysCell(f), mfaCell(f), certsCell(f)
		}
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	printf(w, "%s\n", summaryLine(sum))
	return nil
}

// statusColor is the colour of an account's status in tables: red for
// what needs action, yellow for what was not looked at, green for clean.
func statusColor(status string) string {
	switch status {
	case orgrun.StatusCompliant:
		return colorGreen
	case orgrun.StatusRootCredentials, orgrun.StatusError, orgrun.StatusFailed:
		return colorRed
	}
	return colorYellow
}

func resultCell(r AccountResult) string {
	switch r.Status {
	case orgrun.StatusCompliant:
		return "compliant"
	case orgrun.StatusRootCredentials:
		return "ROOT CREDENTIALS"
	case orgrun.StatusError:
		return "error: " + r.Error
	}
	return r.Status + ": " + r.Reason
}

func passwordCell(f *rootcreds.Findings) string {
	if f.Password == nil {
		return "-"
	}
	return "yes, set " + day(f.Password.Created)
}

func keysCell(f *rootcreds.Findings) termText {
	var lines []string
	for _, k := range f.AccessKeys {
		use := "never used"
		if k.LastUsed != nil {
			use = "used " + day(*k.LastUsed) + " " + k.LastService + "/" + k.LastRegion
		}
		lines = append(lines, k.ID+" "+k.Status+", "+use)
	}
	return orDash(lines)
}

func mfaCell(f *rootcreds.Findings) termText {
	var lines []string
	for _, d := range f.MFADevices {
		lines = append(lines, d.Kind+" "+d.Serial[strings.LastIndex(d.Serial, ":")+1:]+" ("+day(d.Enabled)+")")
	}
	return orDash(lines)
}

func certsCell(f *rootcreds.Findings) termText {
	var lines []string
	for _, c := range f.SigningCertificates {
		lines = append(lines, c.ID+" "+c.Status+" ("+day(c.Uploaded)+")")
	}
	return orDash(lines)
}

// orDash is a multi-line table cell of the given lines, each made safe by
// termSafe, or "-" for none.
func orDash(ss []string) termText {
	if len(ss) == 0 {
		return "-"
	}
	return lines(ss...)
}

var auditCSVHeader = []string{"account_id", "name", "email", "state", "status", "reason", "error",
	"password", "password_created", "access_keys", "active_access_keys", "access_key_ids", "last_key_use",
	"mfa_devices", "mfa_kinds", "signing_certificates"}

func writeAuditCSV(w io.Writer, results []AccountResult) error {
	cw := newCSV(w)
	cw.Write(auditCSVHeader...)
	for _, r := range results {
		row := []string{r.ID, r.Name, r.Email, r.State, r.Status, r.Reason, r.Error, "", "", "", "", "", "", "", "", ""}
		if f := r.Findings; f != nil {
			row[7] = strconv.FormatBool(f.Password != nil)
			if f.Password != nil {
				row[8] = f.Password.Created.UTC().Format(time.RFC3339)
			}
			var ids, kinds []string
			var lastUse time.Time
			active := 0
			for _, k := range f.AccessKeys {
				ids = append(ids, k.ID)
				if k.Status == "Active" {
					active++
				}
				if k.LastUsed != nil && k.LastUsed.After(lastUse) {
					lastUse = *k.LastUsed
				}
			}
			for _, d := range f.MFADevices {
				kinds = append(kinds, d.Kind)
			}
			row[9], row[10], row[11] = strconv.Itoa(len(f.AccessKeys)), strconv.Itoa(active), strings.Join(ids, " ")
			if !lastUse.IsZero() {
				row[12] = lastUse.UTC().Format(time.RFC3339)
			}
			row[13], row[14], row[15] = strconv.Itoa(len(f.MFADevices)), strings.Join(kinds, " "), strconv.Itoa(len(f.SigningCertificates))
		}
		cw.Write(row...)
	}
	return cw.Flush()
}
