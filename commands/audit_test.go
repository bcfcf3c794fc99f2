package commands

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// brief renders one account's result as a short, exact string.
func brief(r AccountResult) string {
	switch r.Status {
	case orgrun.StatusSkipped:
		return "skipped: " + r.Reason
	case orgrun.StatusError:
		return "error: " + r.ErrorCode
	case orgrun.StatusBlocked:
		return "blocked: " + r.Guardrail[0].PolicyID + " " + r.Guardrail[0].Sid
	case orgrun.StatusCompliant:
		return "compliant"
	}
	var parts []string
	f := r.Findings
	if f.Password != nil {
		use := "never"
		if f.Password.LastUsed != nil {
			use = day(*f.Password.LastUsed)
		}
		parts = append(parts, "password "+day(f.Password.Created)+" used "+use)
	}
	for _, k := range f.AccessKeys {
		use := "never"
		if k.LastUsed != nil {
			use = day(*k.LastUsed) + " " + k.LastService + " " + k.LastRegion
		}
		parts = append(parts, fmt.Sprintf("key %s %s created %s used %s", k.ID, k.Status, day(k.Created), use))
	}
	for _, d := range f.MFADevices {
		parts = append(parts, fmt.Sprintf("mfa %s %s %s", d.Kind, d.Serial, day(d.Enabled)))
	}
	for _, c := range f.SigningCertificates {
		parts = append(parts, fmt.Sprintf("cert %s %s %s", c.ID, c.Status, day(c.Uploaded)))
	}
	return strings.Join(parts, "; ")
}

func TestAuditReportsEveryStateOfTheDemoOrganization(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{PageSize: 4})
	code, out, stderr := h.run("audit", "-o", "json")
	// The Legacy OU's deny-root SCP refuses the root sessions of its two
	// accounts: the pre-flight check reports them blocked, without asking
	// for a session, and the run is partial.
	if code != ExitPartial || stderr != "rootctl: 2 of 18 accounts are blocked by a guardrail, so they were not audited; see the causes in the report\n" {
		t.Fatalf("exit %d, want 4; stderr: %s", code, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	want := map[string]string{
		"111111111111": "skipped: management account (AssumeRoot cannot target it)",
		"222222222201": "compliant",
		"222222222202": "compliant",
		"333333333301": "password 2022-01-10 used 2025-06-01",
		"333333333302": "password 2022-02-01 used 2026-11-13; mfa virtual arn:aws:iam::333333333302:mfa/root-account-mfa-device 2022-02-01",
		"333333333303": "password 2022-03-01 used never; mfa hardware GAHT12345678 2022-03-01",
		"333333333304": "key AKIA3DEMO0PRODAPI001 Active created 2023-05-02 used 2026-11-20 s3 eu-west-1; key AKIA3DEMO0PRODAPI002 Inactive created 2022-04-01 used 2023-01-15 ec2 us-east-1",
		"444444444401": "cert DEMOCERT4444444444010000 Active 2023-02-01",
		"444444444402": "compliant",
		"444444444403": "compliant",
		"444444444404": "skipped: account is SUSPENDED",
		"444444444405": "password 2020-05-01 used 2020-06-15; key AKIA3DEMO0DEVEVERY01 Active created 2020-05-01 used never; mfa virtual arn:aws:iam::444444444405:mfa/root-account-mfa-device 2020-05-01; cert DEMOCERT4444444444050000 Inactive 2020-05-02",
		"555555555501": "compliant",
		"555555555502": "password 2024-02-02 used never; mfa fido arn:aws:iam::555555555502:u2f/root/security-key-7F3A 2024-02-02",
		"555555555503": "skipped: account is PENDING_CLOSURE",
		"666666666601": "blocked: p-d3m0lgcy GRRESTRICTROOTUSER",
		"666666666602": "blocked: p-d3m0lgcy GRRESTRICTROOTUSER",
		"888888888801": "compliant",
	}
	if len(r.Accounts) != len(want) {
		t.Fatalf("%d accounts in the report, want %d", len(r.Accounts), len(want))
	}
	for i, a := range r.Accounts {
		if i > 0 && r.Accounts[i-1].ID >= a.ID {
			t.Errorf("accounts not sorted by ID at %s", a.ID)
		}
		if got := brief(a); got != want[a.ID] {
			t.Errorf("account %s:\n got %s\nwant %s", a.ID, got, want[a.ID])
		}
	}
	wantSummary := AuditSummary{Accounts: 18, Audited: 13, Compliant: 6, WithRootCredentials: 7, Skipped: 3, Blocked: 2,
		Passwords: 5, AccessKeys: 3, ActiveAccessKeys: 2, MFADevices: 4, SigningCertificates: 2, APICalls: 47, OpenFindings: 14,
		Requests: 74} // the 47 calls and 27 Organizations requests (listing, OU names, the pre-flight check), none retried
	if r.Summary != wantSummary {
		t.Errorf("summary = %+v\nwant      %+v", r.Summary, wantSummary)
	}
	if r.Organization.ID != "o-demo7rootctl" || r.Organization.ManagementAccount != "111111111111" || r.GeneratedAt.IsZero() {
		t.Errorf("organization = %+v, generated_at %v", r.Organization, r.GeneratedAt)
	}
}

func TestAuditMakesTheFewestCallsPerAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		account string
		want    []string
	}{
		{"555555555501", []string{"sts:AssumeRoot", "iam:GetAccountSummary"}},
		{"333333333301", []string{"sts:AssumeRoot", "iam:GetAccountSummary", "iam:GetLoginProfile", "iam:GetUser"}},
		{"333333333304", []string{"sts:AssumeRoot", "iam:GetAccountSummary", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed"}},
		{"444444444405", []string{"sts:AssumeRoot", "iam:GetAccountSummary", "iam:GetLoginProfile", "iam:GetUser", "iam:ListAccessKeys",
			"iam:ListMFADevices", "iam:ListSigningCertificates", "iam:GetAccessKeyLastUsed"}},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			h.run("audit", "--accounts", tt.account, "-o", "json")
			var got []string
			for _, c := range h.srv.Calls() {
				if c.Operation == "GetCallerIdentity" {
					continue // once per run, for the pre-flight check: not the account's
				}
				if c.Service == "sts" || c.Service == "iam" {
					if c.Service == "iam" && c.Task != "IAMAuditRootUserCredentials" {
						t.Errorf("%s made outside an audit session (task %q)", c.Operation, c.Task)
					}
					got = append(got, c.Service+":"+c.Operation)
				}
			}
			sort.Strings(got)
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("calls = %v\nwant    %v", got, want)
			}
		})
	}
}

func TestAuditSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // account IDs in the report
	}{
		{"explicit accounts, the management account skipped", []string{"--accounts", "222222222201,111111111111"}, []string{"111111111111", "222222222201"}},
		{"an OU, recursively", []string{"--ou", "ou-d3m0-prod0001"}, []string{"333333333301", "333333333302", "333333333303", "333333333304"}},
		{"a nested OU alone", []string{"--ou", "ou-d3m0-prodeu01"}, []string{"333333333303"}},
		{"a tag", []string{"--tag", "team=security"}, []string{"222222222201", "222222222202"}},
		{"two tags must both match", []string{"--tag", "team=web", "--tag", "env=prod"}, []string{"333333333302", "333333333304"}},
		{"an OU less exclusions", []string{"--ou", "ou-d3m0-sandbox1", "--exclude", "555555555501,555555555503"}, []string{"555555555502"}},
		{"account IDs as arguments, and the flags after them", []string{"444444444405", "333333333301", "222222222201", "--exclude", "222222222201"}, []string{"333333333301", "444444444405"}},
		{"--all-accounts less exclusions", []string{"--all-accounts", "--exclude", "111111111111,222222222201,222222222202,333333333301,333333333302,333333333303,333333333304,444444444401,444444444402,444444444403,444444444404,555555555501,555555555502,666666666601,666666666602"},
			[]string{"444444444405", "555555555503", "888888888801"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{PageSize: 2})
			code, out, stderr := h.run(append([]string{"audit", "-o", "json"}, tt.args...)...)
			if code != ExitOK && code != ExitFindings {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			for _, a := range parseJSON[AuditReport](t, out).Accounts {
				got = append(got, a.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("accounts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAuditBadInputIsAUsageError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a short account ID", []string{"--accounts", "12345"}, `account ID "12345": want 12 digits`},
		{"letters in an account ID", []string{"--accounts", "12345678901a"}, "want 12 digits"},
		{"an empty account list", []string{"--accounts", ""}, "--accounts is empty"},
		{"a malformed exclusion", []string{"--exclude", "abc"}, "want 12 digits"},
		{"a malformed OU", []string{"--ou", "sales"}, "want ou-xxxx-xxxxxxxx"},
		{"an OU that does not exist", []string{"--ou", "ou-d3m0-nothere1"}, "no such OU"},
		{"a tag without a value", []string{"--tag", "team"}, "want KEY=VALUE"},
		{"accounts and an OU", []string{"--accounts", "222222222201", "--ou", "ou-d3m0-prod0001"}, "conflict"},
		{"an unknown output", []string{"-o", "yaml"}, `--output "yaml"`},
		{"zero concurrency", []string{"--concurrency", "0"}, "--concurrency 0"},
		{"a negative rate", []string{"--rate", "-1"}, "--rate -1"},
		{"an unknown flag", []string{"--acounts", "222222222201"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, out, stderr := h.run(append([]string{"audit"}, tt.args...)...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("stderr = %q, want one line containing %q", stderr, tt.want)
			}
			if w := writeCalls(h.srv.Calls()); len(w) != 0 || strings.Contains(out, "ROOT") {
				t.Fatalf("a usage error changed or reported something: %v %q", w, out)
			}
		})
	}
}

func TestAuditExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   fixtures.Options
		args   []string
		want   int
		stderr string
	}{
		{"only compliant accounts", fixtures.Options{}, []string{"--accounts", "222222222201,555555555501"}, ExitOK, ""},
		{"skipped accounts alone are not findings", fixtures.Options{}, []string{"--accounts", "444444444404"}, ExitOK, ""},
		{"root credentials found", fixtures.Options{}, []string{"--ou", "ou-d3m0-prod0001"}, ExitFindings, ""},
		{"root credentials found, --exit-zero", fixtures.Options{}, []string{"--ou", "ou-d3m0-prod0001", "--exit-zero"}, ExitOK, ""},
		{"one account could not be audited", fixtures.Options{AssumeRootFaults: map[string]string{"222222222202": "AccessDenied"}},
			[]string{"--ou", "ou-d3m0-security"}, ExitPartial, "1 of 2 accounts could not be audited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), tt.opts)
			code, _, stderr := h.run(append([]string{"audit", "-o", "json"}, tt.args...)...)
			if code != tt.want || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (stderr %q), want %d with %q", code, stderr, tt.want, tt.stderr)
			}
		})
	}
}

func TestOneAccountsErrorDoesNotLoseTheOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{AssumeRootFaults: map[string]string{"333333333302": "AccessDenied"}})
	code, out, _ := h.run("audit", "-o", "json", "--ou", "ou-d3m0-prod0001")
	if code != ExitPartial {
		t.Fatalf("exit %d, want 4", code)
	}
	r := parseJSON[AuditReport](t, out)
	got := map[string]string{}
	for _, a := range r.Accounts {
		got[a.ID] = a.Status
	}
	want := map[string]string{"333333333301": orgrun.StatusRootCredentials, "333333333302": orgrun.StatusError, "333333333303": orgrun.StatusRootCredentials, "333333333304": orgrun.StatusRootCredentials}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %s, want %s", id, got[id], st)
		}
	}
	for _, a := range r.Accounts {
		if a.ID == "333333333302" && (a.ErrorCode != "AccessDenied" || !strings.Contains(a.Error, "check: rootctl status")) {
			t.Errorf("error row = %q (%s), want AccessDenied with a hint", a.Error, a.ErrorCode)
		}
	}
}

func TestAuditOutputFormats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	sel := []string{"--ou", "ou-d3m0-dev00001"} // 5 accounts, one suspended

	_, table, _ := h.run(append([]string{"audit"}, sel...)...)
	for _, want := range []string{"dev-everything", "ROOT CREDENTIALS", "skipped: account is SUSPENDED",
		"5 accounts: 2 compliant, 2 with root credentials, 1 skipped, 0 errors"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	_, out, _ := h.run(append([]string{"audit", "-o", "csv"}, sel...)...)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 6 || !slices.Equal(rows[0], auditCSVHeader) {
		t.Fatalf("csv: %d rows, %v\n%s", len(rows), err, out)
	}
	everything := rows[5]
	if everything[0] != "444444444405" || everything[4] != "root_credentials" || everything[7] != "true" || everything[9] != "1" || everything[14] != "virtual" {
		t.Errorf("csv row = %v", everything)
	}

	_, out, stderr := h.run(append([]string{"audit", "-o", "ndjson"}, sel...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("ndjson: %d lines, want 5:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var r AccountResult
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.ID == "" || r.Status == "" {
			t.Fatalf("ndjson line %q: %v", l, err)
		}
		seen[r.ID] = true
	}
	if len(seen) != 5 || !strings.Contains(stderr, "5 accounts:") {
		t.Fatalf("ndjson accounts %v, summary on stderr %q", seen, stderr)
	}
}

func TestAuditNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, format := range auditFormats {
		_, out, stderr := h.run("audit", "-o", format)
		for _, secret := range []string{h.creds.SecretAccessKey, "SecretAccessKey", "SessionToken", "BEGIN CERTIFICATE"} {
			if strings.Contains(out+stderr, secret) {
				t.Errorf("-o %s output contains %q", format, secret)
			}
		}
	}
}

func TestProgressGoesToATerminalStderrOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{Latency: 60 * time.Millisecond})
	h.errTTY = true
	_, out, stderr := h.run("audit", "-o", "json", "--ou", "ou-d3m0-prod0001", "--concurrency", "1")
	parseJSON[AuditReport](t, out) // stdout stays pure JSON
	if !strings.Contains(stderr, "audited ") || !strings.HasSuffix(stderr, "\r\033[K") {
		t.Fatalf("terminal stderr = %q, want progress lines, cleared at the end", stderr)
	}
	h.errTTY = false
	if _, _, stderr := h.run("audit", "-o", "json", "--ou", "ou-d3m0-prod0001"); stderr != "" {
		t.Fatalf("stderr off a terminal = %q, want nothing", stderr)
	}
	h.errTTY = true
	if _, _, stderr := h.run("audit", "-o", "json", "--ou", "ou-d3m0-prod0001", "--quiet"); stderr != "" {
		t.Fatalf("--quiet stderr = %q, want nothing", stderr)
	}
}

func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	args := []string{"audit", "--accounts", "222222222201,333333333301"}
	const green, red = "\033[32mcompliant\033[0m", "\033[31mROOT CREDENTIALS\033[0m"
	h.outTTY = true
	if _, out, _ := h.run(args...); !strings.Contains(out, green) || !strings.Contains(out, red) {
		t.Fatalf("terminal without NO_COLOR: no colour in\n%s", out)
	}
	h.noColor = true
	if _, out, _ := h.run(args...); strings.Contains(out, "\033[") {
		t.Fatalf("NO_COLOR: colour in\n%s", out)
	}
	h.outTTY, h.noColor = false, false
	if _, out, _ := h.run(args...); strings.Contains(out, "\033[") {
		t.Fatalf("pipe: colour in\n%s", out)
	}
	t.Setenv("NO_COLOR", "1")
	if !System().NoColor {
		t.Fatal("System() ignores NO_COLOR")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if !System().NoColor {
		t.Fatal("System() ignores TERM=dumb")
	}
}
