package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

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
	APICalls            int `json:"api_calls"`
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
}

// line is the summary in one line.
func (s AuditSummary) line() string {
	return fmt.Sprintf("%d accounts: %d compliant, %d with root credentials, %d skipped, %d errors%s%s (%d API calls)",
		s.Accounts, s.Compliant, s.WithRootCredentials, s.Skipped, s.Errors, blockedNote(s.Blocked), interruptedNote(s.Interrupted), s.APICalls)
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
	t := s.table(cols("Account", "Name", "Result", "Password", "Access keys"), optional("MFA devices", "Signing certificates"))
	for _, a := range r.Accounts {
		row := []any{a.ID, a.Name, s.color(statusColor(a.Status), resultCell(a)), "", "", "", ""}
		if f := a.Findings; f != nil {
			row[3], row[4], row[5], row[6] = passwordCell(f), keysCell(f), mfaCell(f), certsCell(f)
		}
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	s.printf("%s\n", r.Summary.line())
	return nil
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
		return "ROOT CREDENTIALS"
	case orgrun.StatusError:
		return "error: " + r.Error
	case orgrun.StatusBlocked:
		return blockedCell(r.Result)
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
		rows = append(rows, row)
	}
	return rows
}
