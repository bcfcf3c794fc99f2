package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/inputfile"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
)

// baselineLimit caps --baseline: an audit report of 50,000 accounts (the
// Organizations maximum) is some 20 MB of JSON (measured at 2,000
// synthetic accounts), under 100 MB if every root user held several
// credentials.
const baselineLimit = 128 << 20

// What --fail-on takes: which findings make the exit code 3.
const (
	failOnAny = "any" // every open finding
	failOnNew = "new" // open findings the baseline did not have
)

// ouPathOf is where account a sits: its OU path of names from the root
// ("Root/Production/Production-EU") and of IDs ("r-d3m0/ou-d3m0-prod0001"),
// as orgscan placed it (Account.Paths, or the walk of the tree).
func ouPathOf(a orgscan.Account) evidence.Path {
	return evidence.Path{Names: a.OUPath, IDs: a.OUPathIDs}
}

// ouOf names the OU an account is in, for grouping: its path of names,
// else the OU (or root) ID it is directly in, else "".
func ouOf(a orgscan.Account) string {
	p := ouPathOf(a)
	if p.Names != "" {
		return p.Names
	}
	return p.IDs[strings.LastIndex(p.IDs, "/")+1:]
}

// loadExceptions reads --exceptions FILE through the capped reader; any
// problem is exit 2 with the fix.
func loadExceptions(path string, now time.Time) (*evidence.Exceptions, error) {
	data, err := inputfile.Read(path, evidence.ExceptionsLimit)
	if err != nil {
		return nil, usageErrorf("--exceptions: %v", err)
	}
	x, err := evidence.ParseExceptions(data, now)
	if err != nil {
		return nil, usageErrorf("--exceptions %s: %v (the format: docs/exceptions.md)", path, err)
	}
	return x, nil
}

// baseline is a previous audit report (--baseline): what it found in each
// account.
type baseline struct {
	path        string
	org         string
	generatedAt time.Time
	accounts    map[string]baselineAccount
}

type baselineAccount struct {
	orgscan.Account
	audited bool
	creds   []evidence.Credential
}

// loadBaseline reads --baseline FILE, a report of `rootctl audit -o json`
// of schema version 2. Which organization it is of is checked once the
// organization is known (checkOrg).
func loadBaseline(path string) (*baseline, error) {
	data, err := inputfile.Read(path, baselineLimit)
	if err != nil {
		return nil, usageErrorf("--baseline: %v", err)
	}
	var doc struct {
		SchemaVersion  *int             `json:"schema_version"`
		OrganizationID string           `json:"organization_id"`
		GeneratedAt    time.Time        `json:"generated_at"`
		Accounts       *[]AccountResult `json:"accounts"`
		Summary        map[string]any   `json:"summary"`
	}
	notAudit := func(why string) error {
		return usageErrorf("--baseline %s: %s: pass the JSON report of an earlier run (rootctl audit -o json > baseline.json)", path, why)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, notAudit("not one JSON document (an NDJSON or CSV report?)")
		}
		return nil, notAudit(fmt.Sprintf("not a report of rootctl audit -o json (%v)", err))
	}
	switch {
	case doc.SchemaVersion == nil:
		return nil, notAudit("no schema_version, so not a report of rootctl audit -o json")
	case *doc.SchemaVersion != schemaVersion:
		return nil, usageErrorf("--baseline %s: schema_version %d: this rootctl reads schema version %d; make a new baseline with this rootctl (rootctl audit -o json > baseline.json)",
			path, *doc.SchemaVersion, schemaVersion)
	case doc.Accounts == nil || doc.Summary["with_root_credentials"] == nil:
		return nil, notAudit("not an audit report (no accounts and audit summary)")
	case doc.OrganizationID == "":
		return nil, notAudit("no organization_id")
	}
	b := &baseline{path: path, org: doc.OrganizationID, generatedAt: doc.GeneratedAt, accounts: map[string]baselineAccount{}}
	for _, a := range *doc.Accounts {
		audited := a.Status == orgrun.StatusCompliant || a.Status == orgrun.StatusRootCredentials
		b.accounts[a.ID] = baselineAccount{Account: a.Account, audited: audited, creds: evidence.Credentials(a.Findings)}
	}
	return b, nil
}

// checkOrg refuses a baseline of another organization.
func (b *baseline) checkOrg(org string) error {
	if b.org != org {
		return usageErrorf("--baseline %s is a report of organization %s, and this is %s: pass a baseline of this organization", b.path, b.org, org)
	}
	return nil
}

// ExceptionsReport is what an audit with --exceptions says of the file.
type ExceptionsReport struct {
	File    string                 `json:"file"`
	Entries []evidence.EntryResult `json:"entries"`
	Stale   int                    `json:"stale"` // expired or unmatched entries: findings themselves
}

// DriftReport is what an audit with --baseline says changed since.
type DriftReport struct {
	BaselineGeneratedAt time.Time         `json:"baseline_generated_at"`
	New                 int               `json:"new"`
	Persisting          int               `json:"persisting"`
	Resolved            int               `json:"resolved"`
	AccountsAppeared    []orgscan.Account `json:"accounts_appeared"`
	// AccountsLeft are the baseline's accounts that are no longer in the
	// organization, with the findings the baseline had there. Judged only
	// when the run covers every account: null otherwise.
	AccountsLeft []LeftAccount `json:"accounts_left"`
}

// LeftAccount is an account of the baseline no longer in the organization.
type LeftAccount struct {
	orgscan.Account
	Findings int `json:"findings"`
}

// auditEvidence is what --exceptions and --baseline bring to an audit, and
// what the run makes of them as accounts finish. The sink's lock guards it.
type auditEvidence struct {
	now        time.Time
	exceptions *evidence.Exceptions
	exFile     string
	tally      *evidence.Tally
	baseline   *baseline
	failOn     string
	// wholeOrg: the run covers every account of the organization, so an
	// account or exception it did not meet is not in the organization.
	wholeOrg bool

	seen             map[string]bool
	counts           evidence.Counts
	newOpen          int // open findings the baseline did not have
	appearedAccounts []orgscan.Account
}

func newAuditEvidence(in AuditInput, x *evidence.Exceptions, b *baseline, now time.Time) *auditEvidence {
	sel := in.Selection
	e := &auditEvidence{now: now, exceptions: x, exFile: in.Exceptions, baseline: b, failOn: in.FailOn, seen: map[string]bool{},
		wholeOrg: len(sel.Accounts) == 0 && sel.OU == "" && len(sel.Tags) == 0 && len(sel.Exclude) == 0}
	if x != nil {
		e.tally = x.NewTally()
	}
	return e
}

// account decides the findings of one account as it finishes: every
// credential an open finding, then the baseline's drift, then the
// exceptions.
func (e *auditEvidence) account(r *AccountResult) {
	audited := r.Status == orgrun.StatusCompliant || r.Status == orgrun.StatusRootCredentials
	var fs []evidence.Finding
	if audited {
		fs = evidence.Open(evidence.Credentials(r.Findings))
	}
	if b := e.baseline; b != nil {
		e.seen[r.ID] = true
		was, ok := b.accounts[r.ID]
		if !ok {
			r.Drift = driftAppeared
			e.appearedAccounts = append(e.appearedAccounts, r.Account)
		}
		if audited {
			var before []evidence.Credential
			if ok && was.audited {
				before = was.creds
			}
			fs = evidence.Compare(fs, before)
		}
	}
	if e.exceptions != nil {
		e.exceptions.Apply(e.tally, e.now, r.ID, ouPathOf(r.Account), audited, fs)
	}
	c := evidence.Count(fs)
	e.counts.Open += c.Open
	e.counts.Accepted += c.Accepted
	e.counts.Resolved += c.Resolved
	e.counts.New += c.New
	e.counts.Persisting += c.Persisting
	for _, f := range fs {
		if f.Status == evidence.StatusOpen && f.Drift == evidence.DriftNew {
			e.newOpen++
		}
	}
	r.Items = fs
}

// driftAppeared marks an account the baseline did not have.
const driftAppeared = "appeared"

// finish writes what the run made of the exceptions and the baseline into
// the report.
func (e *auditEvidence) finish(r *AuditReport) {
	r.Summary.OpenFindings, r.Summary.AcceptedFindings = e.counts.Open, e.counts.Accepted
	if e.exceptions != nil {
		x := &ExceptionsReport{File: e.exFile, Entries: e.exceptions.Judge(e.tally, e.now, e.wholeOrg)}
		for _, en := range x.Entries {
			if en.Stale() {
				x.Stale++
			}
		}
		r.Exceptions = x
	}
	if b := e.baseline; b != nil {
		d := &DriftReport{BaselineGeneratedAt: b.generatedAt, New: e.counts.New, Persisting: e.counts.Persisting, Resolved: e.counts.Resolved,
			AccountsAppeared: append([]orgscan.Account{}, e.appearedAccounts...)}
		sort.Slice(d.AccountsAppeared, func(i, j int) bool { return d.AccountsAppeared[i].ID < d.AccountsAppeared[j].ID })
		if e.wholeOrg {
			d.AccountsLeft = []LeftAccount{}
			for id, a := range b.accounts {
				if !e.seen[id] {
					d.AccountsLeft = append(d.AccountsLeft, LeftAccount{Account: a.Account, Findings: len(a.creds)})
				}
			}
			sort.Slice(d.AccountsLeft, func(i, j int) bool { return d.AccountsLeft[i].ID < d.AccountsLeft[j].ID })
		}
		r.Drift = d
	}
}

// failing reports whether the findings make the exit code 3: open ones
// (with --fail-on new, open ones the baseline did not have), or a stale
// exception, whatever --fail-on says.
func (e *auditEvidence) failing(r *AuditReport) bool {
	if r.Exceptions != nil && r.Exceptions.Stale > 0 {
		return true
	}
	if e.failOn == failOnNew {
		return e.newOpen > 0
	}
	return e.counts.Open > 0
}
