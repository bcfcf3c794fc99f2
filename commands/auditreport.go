package commands

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
)

// AccountResult is one account of an audit report. The credential fields
// are present for audited accounts only.
type AccountResult struct {
	orgrun.Result
	*rootcreds.Findings
	APICalls int `json:"api_calls"`
	// Items are the root user's credentials as findings: open or accepted
	// by an exception; with --baseline, new or persisting, and resolved
	// ones that are gone. Absent for accounts not audited.
	Items []evidence.Finding `json:"findings,omitempty"`
	// Drift is "appeared" for an account the baseline did not have.
	Drift string `json:"drift,omitempty"`
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
	Blocked             int `json:"blocked"`
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
	Requests         int `json:"requests"`
	Throttled        int `json:"throttled"`
	Retries          int `json:"retries"`
	OpenFindings     int `json:"open_findings"`     // credentials no live exception accepts
	AcceptedFindings int `json:"accepted_findings"` // credentials a live exception accepts
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
	case orgrun.StatusBlocked:
		s.Blocked++
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
	Header
	Organization orgscan.Organization `json:"organization"`
	Accounts     []AccountResult      `json:"accounts"`
	Summary      AuditSummary         `json:"summary"`
	Exceptions   *ExceptionsReport    `json:"exceptions,omitempty"` // with --exceptions
	Drift        *DriftReport         `json:"drift,omitempty"`      // with --baseline

	region   string         // the AWS region of the run: OCSF's cloud.region, ASFF's ProductArn
	importer string         // -o asff: the account that imports the findings
	encoded  []indentedItem // -o json: the accounts, by ID, encoded as each was audited; Accounts is empty
}

func (r *AuditReport) takeAccounts() (int, func(int) any, func()) {
	if r.encoded != nil {
		return len(r.encoded), func(i int) any { return r.encoded[i] }, func() {}
	}
	return takeList(&r.Accounts)
}

// line is the summary in one line.
func (s AuditSummary) line() string {
	return fmt.Sprintf("%d accounts: %d compliant, %d with root credentials, %d skipped, %d errors%s%s (%d API calls%s)",
		s.Accounts, s.Compliant, s.WithRootCredentials, s.Skipped, s.Errors, blockedNote(s.Blocked), interruptedNote(s.Interrupted), s.APICalls, s.retriesNote())
}

// retriesNote tells what retries cost, when there were any.
func (s AuditSummary) retriesNote() string {
	if s.Retries == 0 {
		return ""
	}
	return fmt.Sprintf("; %d requests, %d throttled, %d retries", s.Requests, s.Throttled, s.Retries)
}

// blockedNote counts the accounts a guardrail blocks, when there are any.
func blockedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d blocked by a guardrail", n)
}

func interruptedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d not audited (interrupted)", n)
}

func (r *AuditReport) render(s *screen) error {
	columns := [][]column{cols("Account", "Name", "OU"), optional("OU IDs"), cols("Result", "Password", "Access keys"), optional("MFA devices", "Signing certificates")}
	if r.Exceptions != nil {
		columns = append(columns, cols("Exception"))
	}
	if r.Drift != nil {
		columns = append(columns, cols("Since baseline"))
	}
	t := s.table(columns...)
	for _, a := range r.Accounts {
		color := statusColor(a.Status)
		if allAccepted(a) {
			color = colorYellow
		}
		row := []any{a.ID, a.Name, orDash(nonEmpty(a.OUPath)), orDash(nonEmpty(a.OUPathIDs)), s.color(color, resultCell(a)), "", "", "", ""}
		if f := a.Findings; f != nil {
			row[5], row[6], row[7], row[8] = passwordCell(f, r.GeneratedAt), keysCell(f), mfaCell(f), certsCell(f)
		}
		if r.Exceptions != nil {
			row = append(row, exceptionCell(a))
		}
		if r.Drift != nil {
			row = append(row, driftCell(a))
		}
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	s.printf("%s\n", r.Summary.line())
	for _, l := range r.evidenceLines() {
		s.printf("%s\n", l)
	}
	return nil
}

// allAccepted reports whether an account has root credentials and a live
// exception accepts every one of them.
func allAccepted(a AccountResult) bool {
	if a.Status != orgrun.StatusRootCredentials {
		return false
	}
	c := evidence.Count(a.Items)
	return c.Open == 0 && c.Accepted > 0
}

// credShort names a credential in a cell: "password", "access_key AKIA…",
// "mfa_virtual root-account-mfa-device".
func credShort(c evidence.Credential) string {
	switch c.Kind {
	case evidence.KindPassword:
		return c.Kind
	case evidence.KindMFAVirtual, evidence.KindMFAHardware, evidence.KindMFAFIDO:
		return c.Kind + " " + c.ID[strings.LastIndex(c.ID, ":")+1:]
	}
	return c.String()
}

// exceptionCell says which exceptions accept an account's findings, and
// which did until they expired.
func exceptionCell(a AccountResult) termText {
	type use struct {
		acc   *evidence.Acceptance
		kinds []string
	}
	var uses []*use
	byEntry := map[int]*use{}
	for _, f := range a.Items {
		if f.Exception == nil || f.Status == evidence.StatusResolved {
			continue
		}
		u, ok := byEntry[f.Exception.Entry]
		if !ok {
			u = &use{acc: f.Exception}
			byEntry[f.Exception.Entry] = u
			uses = append(uses, u)
		}
		if !slices.Contains(u.kinds, f.Kind) {
			u.kinds = append(u.kinds, f.Kind)
		}
	}
	var out []string
	for _, u := range uses {
		if u.acc.Expired {
			out = append(out, fmt.Sprintf("entry %d EXPIRED %s: %s", u.acc.Entry, u.acc.Expires, strings.Join(u.kinds, ", ")))
		} else {
			out = append(out, fmt.Sprintf("entry %d until %s: %s", u.acc.Entry, u.acc.Expires, strings.Join(u.kinds, ", ")))
		}
	}
	return orDash(out)
}

// driftCell says what changed in an account since the baseline.
func driftCell(a AccountResult) termText {
	if a.Drift == driftAppeared {
		return "appeared"
	}
	var news, gone []string
	persisting := 0
	for _, f := range a.Items {
		switch f.Drift {
		case evidence.DriftNew:
			news = append(news, credShort(f.Credential))
		case evidence.DriftResolved:
			gone = append(gone, credShort(f.Credential))
		case evidence.DriftPersisting:
			persisting++
		}
	}
	var out []string
	if len(news) > 0 {
		out = append(out, "new: "+strings.Join(news, ", "))
	}
	if len(gone) > 0 {
		out = append(out, "resolved: "+strings.Join(gone, ", "))
	}
	if len(out) == 0 && (a.Status == orgrun.StatusCompliant || a.Status == orgrun.StatusRootCredentials) {
		out = append(out, "unchanged")
	}
	return orDash(out)
}

// evidenceLines are what the report says, after the table, of its
// exceptions and its drift against the baseline.
func (r *AuditReport) evidenceLines() []string {
	var out []string
	if x := r.Exceptions; x != nil {
		for _, e := range x.Entries {
			line := fmt.Sprintf("exception %d (%s): %s: %s", e.Index, e.Names(), e.Status, e.Detail)
			if e.Status == evidence.ExceptionExpired { // the detail says so
				line = fmt.Sprintf("exception %d (%s): %s", e.Index, e.Names(), e.Detail)
			}
			out = append(out, line)
		}
		if x.Stale > 0 {
			out = append(out, fmt.Sprintf("%s expired or accepting nothing: each is a finding", plural(x.Stale, "exception")))
		}
	}
	if d := r.Drift; d != nil {
		line := fmt.Sprintf("since the baseline of %s: %d new, %d persisting, %d resolved findings",
			d.BaselineGeneratedAt.UTC().Format(time.RFC3339), d.New, d.Persisting, d.Resolved)
		var appeared, left []string
		for _, a := range d.AccountsAppeared {
			appeared = append(appeared, a.ID+" ("+a.Name+")")
		}
		for _, a := range d.AccountsLeft {
			left = append(left, fmt.Sprintf("%s (%s, %s)", a.ID, a.Name, plural(a.Findings, "finding")))
		}
		if len(appeared) > 0 {
			line += "; accounts appeared: " + strings.Join(appeared, ", ")
		}
		if len(left) > 0 {
			line += "; accounts left: " + strings.Join(left, ", ")
		}
		out = append(out, line)
	}
	return out
}

// statusColor is the colour of an account's status in tables: red for
// what needs action, yellow for what was not looked at, green for clean.
func statusColor(status string) string {
	switch status {
	case orgrun.StatusCompliant:
		return colorGreen
	case orgrun.StatusRootCredentials, orgrun.StatusError, orgrun.StatusFailed, orgrun.StatusBlocked:
		return colorRed
	}
	return colorYellow
}

func resultCell(r AccountResult) string {
	switch r.Status {
	case orgrun.StatusCompliant:
		return "compliant"
	case orgrun.StatusRootCredentials:
		if allAccepted(r) {
			return "accepted"
		}
		return "ROOT CREDENTIALS"
	case orgrun.StatusError:
		return "error: " + r.Error
	case orgrun.StatusBlocked:
		return blockedCell(r.Result)
	}
	return r.Status + ": " + r.Reason
}

// passwordCell says whether the root user has a password, when it was set
// and when it last signed in, counted back from now (the report's time): a
// password used last week is a different finding from one unused for years.
func passwordCell(f *rootcreds.Findings, now time.Time) string {
	if f.Password == nil {
		return "-"
	}
	return "yes, set " + day(f.Password.Created) + ", " + lastUsedText(f.Password.LastUsed, now)
}

// lastUsedText is "used 12 days ago", "used today" or "never used".
func lastUsedText(used *time.Time, now time.Time) string {
	if used == nil {
		return "never used"
	}
	switch days := int(now.Sub(*used).Hours() / 24); {
	case days <= 0: // today, or a clock behind AWS's
		return "used today"
	case days == 1:
		return "used 1 day ago"
	default:
		return fmt.Sprintf("used %d days ago", days)
	}
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
	"mfa_devices", "mfa_kinds", "signing_certificates", "open_findings", "accepted_findings", "new_findings", "resolved_findings", "drift",
	"ou_path", "ou_path_ids", "password_last_used"}

func (r *AuditReport) csvHeader() []string { return auditCSVHeader }

func (r *AuditReport) records() []any {
	out := make([]any, len(r.Accounts))
	for i := range r.Accounts {
		out[i] = &r.Accounts[i]
	}
	return out
}

func (r *AuditReport) csvRows() [][]string {
	var rows [][]string
	for _, r := range r.Accounts {
		row := []string{r.ID, r.Name, r.Email, r.State, r.Status, r.Reason, r.Error, "", "", "", "", "", "", "", "", "", "", "", "", "", r.Drift, r.OUPath, r.OUPathIDs, ""}
		if f := r.Findings; f != nil {
			row[7] = strconv.FormatBool(f.Password != nil)
			if f.Password != nil {
				row[8] = f.Password.Created.UTC().Format(time.RFC3339)
				if f.Password.LastUsed != nil {
					row[23] = f.Password.LastUsed.UTC().Format(time.RFC3339)
				}
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
			c := evidence.Count(r.Items)
			row[16], row[17], row[18], row[19] = strconv.Itoa(c.Open), strconv.Itoa(c.Accepted), strconv.Itoa(c.New), strconv.Itoa(c.Resolved)
		}
		rows = append(rows, row)
	}
	return rows
}

// compliance judges every account the audit reached by every check: the
// audited ones by their findings, those it could not audit (an error, or
// Ctrl-C) as UNKNOWN. Skipped accounts (the management account, accounts
// not ACTIVE) cannot be audited with AssumeRoot and have no checks.
func (r *AuditReport) compliance() complianceSet {
	set := complianceSet{Region: r.region, Importer: r.importer}
	for _, a := range r.Accounts {
		var results []evidence.CheckResult
		switch a.Status {
		case orgrun.StatusCompliant, orgrun.StatusRootCredentials:
			results = evidence.Evaluate(a.Items)
		case orgrun.StatusError:
			results = evidence.Unknown(a.Error)
		case orgrun.StatusInterrupted:
			results = evidence.Unknown(a.Reason)
		default:
			continue
		}
		set.Accounts = append(set.Accounts, complianceAccount{Account: a.Account, Results: results})
	}
	return set
}
