package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
)

// demoExceptions is the demo organization's exceptions file.
var demoExceptions = filepath.Join("..", "fixtures", "orgs", "demo-exceptions.yaml")

// pinClock sets the emulator's clock, which the audit reads, to day.
func pinClock(h *harness, day string) {
	h.t.Helper()
	at, err := time.Parse(time.DateOnly, day)
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv.Advance(at.Add(12 * time.Hour).Sub(h.srv.Now()))
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// findingsBrief renders an account's findings as "kind=status[#entry][/drift]".
func findingsBrief(a AccountResult) string {
	var parts []string
	for _, f := range a.Items {
		s := f.Kind + "=" + f.Status
		if f.Exception != nil {
			s += fmt.Sprintf("#%d", f.Exception.Entry)
			if f.Exception.Expired {
				s += "(expired)"
			}
		}
		if f.Drift != "" {
			s += "/" + f.Drift
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestAuditReportsTheDemoExceptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, reportOrg(t), fixtures.Options{})
	pinClock(h, "2026-11-25")
	code, out, stderr := h.run("audit", "-o", "json", "--exceptions", demoExceptions)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 3; stderr: %s", code, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	want := map[string]string{
		"222222222201": "",
		"333333333301": "password=open",
		"333333333302": "password=open mfa_virtual=open",
		"333333333303": "password=accepted#1 mfa_hardware=accepted#1",
		"333333333304": "access_key=open access_key=open",
		"444444444401": "signing_certificate=open#3(expired)",
		"444444444405": "password=open access_key=open mfa_virtual=open signing_certificate=open",
		"555555555502": "password=accepted#2 mfa_fido=accepted#2",
	}
	for _, a := range r.Accounts {
		if w, ok := want[a.ID]; ok && findingsBrief(a) != w {
			t.Errorf("%s: %q, want %q", a.ID, findingsBrief(a), w)
		}
	}
	if r.Summary.OpenFindings != 10 || r.Summary.AcceptedFindings != 4 {
		t.Errorf("summary: %d open, %d accepted; want 10 and 4", r.Summary.OpenFindings, r.Summary.AcceptedFindings)
	}
	if r.Exceptions == nil || r.Exceptions.File != demoExceptions || r.Exceptions.Stale != 2 {
		t.Fatalf("exceptions = %+v", r.Exceptions)
	}
	var statuses []string
	for _, e := range r.Exceptions.Entries {
		statuses = append(statuses, fmt.Sprintf("%d %s %s %d", e.Index, e.Names(), e.Status, e.Findings))
	}
	wantStatuses := []string{"1 account 333333333303 accepted 2", "2 OU ou-d3m0-sandbox1 accepted 2",
		"3 account 444444444401 expired 0", "4 account 222222222202 unmatched 0"}
	if !slices.Equal(statuses, wantStatuses) {
		t.Errorf("exceptions:\n%s\nwant\n%s", strings.Join(statuses, "\n"), strings.Join(wantStatuses, "\n"))
	}
	if e := r.Exceptions.Entries[0]; e.Reason != "SEC-101 break-glass root for prod-data-eu; password and token in the safe" ||
		e.ApprovedBy != "ciso@example.com" || e.Expires.String() != "2027-04-30" {
		t.Errorf("entry 1 = %+v", e)
	}

	// The table says the same, with the stale entries after it.
	_, table, _ := h.run("audit", "--wide", "--exceptions", demoExceptions)
	for _, want := range []string{
		"│ 333333333303 │ prod-data-eu     │ Root/Production/Production-EU │ r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01 │ accepted ",
		"entry 1 until 2027-04-30: password, mfa_hardware",
		"entry 3 EXPIRED 2026-10-31: signing_certificate",
		"exception 3 (account 444444444401): expired on 2026-10-31: remove the credentials, or renew the exception (a new approved_on and expires)\n",
		"exception 4 (account 222222222202): unmatched: account 222222222202 holds none of access_key: delete the entry\n",
		"2 exceptions expired or accepting nothing: each is a finding\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// exceptionsFile writes an exceptions file of the given entries (YAML
// mappings in flow style).
func exceptionsFile(t *testing.T, entries ...string) string {
	return writeTemp(t, "exceptions.yaml", "version: 1\nexceptions:\n"+func() string {
		var b strings.Builder
		for _, e := range entries {
			b.WriteString("  - " + e + "\n")
		}
		return b.String()
	}())
}

const everyKind = "[password, access_key, mfa_virtual, mfa_hardware, mfa_fido, signing_certificate]"

func TestExceptionsDecideTheExitCode(t *testing.T) {
	t.Parallel()
	all := `{ou: r-d3m0, accept: ` + everyKind + `, reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`
	allButCerts := `{ou: r-d3m0, accept: [password, access_key, mfa_virtual, mfa_hardware, mfa_fido], reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`
	expired := `{account: "333333333301", accept: [password], reason: r, approved_by: a, approved_on: 2026-01-01, expires: 2026-11-24}`
	stale := `{account: "222222222201", accept: [password], reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`
	tests := []struct {
		name     string
		entries  []string
		day      string
		args     []string
		want     int
		open     int
		accepted int
	}{
		{"every credential accepted and no stale entry: exit 0", []string{all}, "2026-11-25", nil, ExitOK, 0, 14},
		{"the last day of the exception still accepts", []string{all}, "2027-01-31", nil, ExitOK, 0, 14},
		{"the day after its expiry, every finding is open again", []string{all}, "2027-02-01", nil, ExitFindings, 14, 0},
		{"a kind the entry does not accept stays open", []string{allButCerts}, "2026-11-25", nil, ExitFindings, 2, 12},
		{"an expired entry is a finding of its own", []string{all, expired}, "2026-11-25", nil, ExitFindings, 0, 14},
		{"an entry that accepts nothing is a finding of its own", []string{all, stale}, "2026-11-25", nil, ExitFindings, 0, 14},
		{"--exit-zero turns a stale entry's 3 into 0", []string{all, stale}, "2026-11-25", []string{"--exit-zero"}, ExitOK, 0, 14},
		{"an entry outside the selection is not judged", []string{stale}, "2026-11-25", []string{"--accounts", "222222222202"}, ExitOK, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, reportOrg(t), fixtures.Options{})
			pinClock(h, tt.day)
			code, out, stderr := h.run(append([]string{"audit", "-o", "json", "--exceptions", exceptionsFile(t, tt.entries...)}, tt.args...)...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.want, stderr)
			}
			r := parseJSON[AuditReport](t, out)
			if r.Summary.OpenFindings != tt.open || r.Summary.AcceptedFindings != tt.accepted {
				t.Errorf("%d open, %d accepted; want %d and %d", r.Summary.OpenFindings, r.Summary.AcceptedFindings, tt.open, tt.accepted)
			}
		})
	}
}

// baselineOf runs an audit of org and returns its JSON report's path.
func baselineOf(t *testing.T, org *fixtures.Org) string {
	t.Helper()
	h := newHarness(t, org, fixtures.Options{})
	code, out, stderr := h.run("audit", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("baseline run: exit %d: %s", code, stderr)
	}
	return writeTemp(t, "baseline.json", out)
}

// laterDemo is the demo organization some weeks on: prod-api's inactive
// key deleted, a key made in security-tooling, dev-tools gone, and a new
// sandbox account with a password.
func laterDemo(t *testing.T) *fixtures.Org {
	org := reportOrg(t)
	var accounts []fixtures.Account
	for _, a := range org.Accounts {
		switch a.ID {
		case "444444444402":
			continue
		case "333333333304":
			a.Root.AccessKeys = a.Root.AccessKeys[:1]
		case "222222222201":
			a.Root.AccessKeys = []fixtures.AccessKey{{ID: "AKIA3DEMO0SECTOOL001", Status: "Active", Created: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}}
		}
		accounts = append(accounts, a)
	}
	accounts = append(accounts, fixtures.Account{ID: "555555555504", Name: "sandbox-new", Email: "aws-sbx-new@example.com", State: "ACTIVE", Parent: "ou-d3m0-sandbox1",
		Root: fixtures.RootUser{Password: &fixtures.Password{Created: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}}})
	org.Accounts = accounts
	return org
}

func TestBaselineMarksWhatChanged(t *testing.T) {
	t.Parallel()
	base := baselineOf(t, reportOrg(t))
	h := newHarness(t, laterDemo(t), fixtures.Options{})
	code, out, stderr := h.run("audit", "-o", "json", "--baseline", base)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	want := map[string]string{
		"222222222201": "access_key=open/new",
		"222222222202": "",
		"333333333301": "password=open/persisting",
		"333333333304": "access_key=open/persisting access_key=resolved/resolved",
		"555555555504": "password=open/new",
	}
	for _, a := range r.Accounts {
		if w, ok := want[a.ID]; ok && findingsBrief(a) != w {
			t.Errorf("%s: %q, want %q", a.ID, findingsBrief(a), w)
		}
		if (a.Drift == driftAppeared) != (a.ID == "555555555504") {
			t.Errorf("%s: drift %q", a.ID, a.Drift)
		}
	}
	d := r.Drift
	if d == nil || d.New != 2 || d.Persisting != 13 || d.Resolved != 1 {
		t.Fatalf("drift = %+v, want 2 new, 13 persisting, 1 resolved", d)
	}
	if len(d.AccountsAppeared) != 1 || d.AccountsAppeared[0].ID != "555555555504" ||
		len(d.AccountsLeft) != 1 || d.AccountsLeft[0].ID != "444444444402" || d.AccountsLeft[0].Name != "dev-tools" {
		t.Errorf("appeared %+v, left %+v", d.AccountsAppeared, d.AccountsLeft)
	}
	if d.BaselineGeneratedAt.IsZero() || d.BaselineGeneratedAt.After(r.GeneratedAt) {
		t.Errorf("baseline made at %v, the run at %v", d.BaselineGeneratedAt, r.GeneratedAt)
	}

	// The table names them.
	_, table, _ := h.run("audit", "--baseline", base)
	for _, w := range []string{"new: access_key AKIA3DEMO0SECTOOL001", "resolved: access_key AKIA3DEMO0PRODAPI002", "appeared",
		"2 new, 13 persisting, 1 resolved findings; accounts appeared: 555555555504 (sandbox-new); accounts left: 444444444402 (dev-tools, 0 findings)"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
}

func TestFailOnChoosesWhatMakesTheExitCode3(t *testing.T) {
	t.Parallel()
	base := baselineOf(t, reportOrg(t))
	onlyResolved := reportOrg(t)
	for i := range onlyResolved.Accounts {
		if onlyResolved.Accounts[i].ID == "333333333304" {
			onlyResolved.Accounts[i].Root.AccessKeys = nil
		}
	}
	tests := []struct {
		name string
		org  *fixtures.Org
		args []string
		want int
	}{
		{"new findings fail --fail-on new", laterDemo(t), []string{"--fail-on", "new"}, ExitFindings},
		{"only old findings pass --fail-on new", onlyResolved, []string{"--fail-on", "new"}, ExitOK},
		{"only old findings fail --fail-on any", onlyResolved, []string{"--fail-on", "any"}, ExitFindings},
		{"--fail-on any is the default", onlyResolved, nil, ExitFindings},
		{"a stale exception fails --fail-on new too", onlyResolved, []string{"--fail-on", "new", "--exceptions", ""}, ExitFindings},
		{"accepted new findings pass --fail-on new", laterDemo(t), []string{"--fail-on", "new", "--exceptions", "accept-new"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.org, fixtures.Options{})
			pinClock(h, "2026-11-25")
			args := slices.Clone(tt.args)
			for i, a := range args {
				if a == "--exceptions" && args[i+1] == "" {
					args[i+1] = exceptionsFile(t, `{account: "222222222201", accept: [password], reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`)
				}
				if a == "--exceptions" && args[i+1] == "accept-new" {
					args[i+1] = exceptionsFile(t,
						`{account: "222222222201", accept: [access_key], reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`,
						`{account: "555555555504", accept: [password], reason: r, approved_by: a, approved_on: 2026-11-01, expires: 2027-01-31}`)
				}
			}
			code, _, stderr := h.run(append([]string{"audit", "-o", "json", "--baseline", base}, args...)...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.want, stderr)
			}
		})
	}
}

func TestASelectedRunDoesNotJudgeAccountsThatLeft(t *testing.T) {
	t.Parallel()
	base := baselineOf(t, reportOrg(t))
	h := newHarness(t, laterDemo(t), fixtures.Options{})
	_, out, stderr := h.run("audit", "-o", "json", "--baseline", base, "--ou", "ou-d3m0-prod0001")
	r := parseJSON[AuditReport](t, out)
	if r.Drift == nil || r.Drift.AccountsLeft != nil || !strings.Contains(out, `"accounts_left": null`) {
		t.Fatalf("drift of a selected run: %+v (stderr %s)", r.Drift, stderr)
	}
	if r.Drift.Resolved != 1 || r.Drift.New != 0 {
		t.Errorf("drift = %+v", r.Drift)
	}
}

// TestAuditNDJSONCarriesEachAccountsFindings: the lines are written as
// accounts finish, with their findings decided; what concerns the file and
// the baseline goes to stderr.
func TestAuditNDJSONCarriesEachAccountsFindings(t *testing.T) {
	t.Parallel()
	base := baselineOf(t, reportOrg(t))
	h := newHarness(t, laterDemo(t), fixtures.Options{})
	pinClock(h, "2026-11-25")
	code, out, stderr := h.run("audit", "-o", "ndjson", "--exceptions", demoExceptions, "--baseline", base)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a AccountResult
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		got[a.ID] = findingsBrief(a) + " " + a.Drift
	}
	for id, w := range map[string]string{
		"333333333303": "password=accepted#1/persisting mfa_hardware=accepted#1/persisting ",
		"555555555504": "password=accepted#2/new appeared",
	} {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	for _, w := range []string{"exception 4 (account 222222222202): unmatched", "accounts left: 444444444402 (dev-tools, 0 findings)", "15 accounts: 3 compliant, 9 with root credentials"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

func TestAuditCSVCountsFindings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, reportOrg(t), fixtures.Options{})
	pinClock(h, "2026-11-25")
	_, out, _ := h.run("audit", "-o", "csv", "--exceptions", demoExceptions, "--accounts", "333333333303,444444444401")
	want := []string{
		strings.Join(auditCSVHeader, ","),
		"333333333303,prod-data-eu,aws-data-eu@example.com,ACTIVE,root_credentials,,,true,2022-03-01T08:00:00Z,0,0,,,1,hardware,0,0,2,0,0,,Root/Production/Production-EU,r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01,",
		"444444444401,dev-sandbox,aws-dev@example.com,ACTIVE,root_credentials,,,false,,0,0,,,0,,1,1,0,0,0,,Root/Development,r-d3m0/ou-d3m0-dev00001,",
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(got, want) {
		t.Errorf("csv:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
