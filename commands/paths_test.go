package commands

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/rootcreds"
)

// demoOUPaths is where each account of the demo organization sits: its OU
// path by name, then by ID.
var demoOUPaths = map[string][2]string{
	"111111111111": {"Root", "r-d3m0"},
	"222222222201": {"Root/Security", "r-d3m0/ou-d3m0-security"},
	"222222222202": {"Root/Security", "r-d3m0/ou-d3m0-security"},
	"333333333301": {"Root/Production", "r-d3m0/ou-d3m0-prod0001"},
	"333333333302": {"Root/Production", "r-d3m0/ou-d3m0-prod0001"},
	"333333333303": {"Root/Production/Production-EU", "r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01"},
	"333333333304": {"Root/Production", "r-d3m0/ou-d3m0-prod0001"},
	"444444444401": {"Root/Development", "r-d3m0/ou-d3m0-dev00001"},
	"444444444402": {"Root/Development", "r-d3m0/ou-d3m0-dev00001"},
	"444444444403": {"Root/Development", "r-d3m0/ou-d3m0-dev00001"},
	"444444444404": {"Root/Development", "r-d3m0/ou-d3m0-dev00001"},
	"444444444405": {"Root/Development", "r-d3m0/ou-d3m0-dev00001"},
	"555555555501": {"Root/Sandbox", "r-d3m0/ou-d3m0-sandbox1"},
	"555555555502": {"Root/Sandbox", "r-d3m0/ou-d3m0-sandbox1"},
	"555555555503": {"Root/Sandbox", "r-d3m0/ou-d3m0-sandbox1"},
}

// TestEveryAuditFormatSaysWhereEachAccountSits: the JSON document, the
// NDJSON lines, the CSV rows and the table give every account of the demo
// organization its OU path, by name and by ID.
func TestEveryAuditFormatSaysWhereEachAccountSits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, reportOrg(t), fixtures.Options{})
	check := func(format, id, path, ids string) {
		t.Helper()
		if want := demoOUPaths[id]; path != want[0] || ids != want[1] {
			t.Errorf("-o %s: account %s in %q (%q), want %q (%q)", format, id, path, ids, want[0], want[1])
		}
	}

	_, out, _ := h.run("audit", "-o", "json")
	r := parseJSON[AuditReport](t, out)
	for _, a := range r.Accounts {
		check("json", a.ID, a.OUPath, a.OUPathIDs)
	}
	var raw struct {
		Accounts []map[string]any `json:"accounts"`
	}
	json.Unmarshal([]byte(out), &raw)
	if got := raw.Accounts[5]; got["ou_path"] != "Root/Production/Production-EU" || got["ou_path_ids"] != "r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01" {
		t.Errorf("json fields of 333333333303: ou_path %v, ou_path_ids %v", got["ou_path"], got["ou_path_ids"])
	}

	_, out, _ = h.run("audit", "-o", "ndjson")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a AccountResult
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("ndjson line %q: %v", line, err)
		}
		check("ndjson", a.ID, a.OUPath, a.OUPathIDs)
		n++
	}

	_, out, _ = h.run("audit", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	path, ids := slices.Index(rows[0], "ou_path"), slices.Index(rows[0], "ou_path_ids")
	for _, row := range rows[1:] {
		check("csv", row[0], row[path], row[ids])
	}

	_, out, _ = h.run("audit")
	for id, want := range demoOUPaths {
		row := regexp.MustCompile(`(?m)^.*` + id + `.*$`).FindString(out)
		if !strings.Contains(row, " "+want[0]+" ") || !strings.Contains(row, " "+want[1]+" ") {
			t.Errorf("table row of %s lacks %s and %s:\n%s", id, want[0], want[1], row)
		}
	}
	if len(r.Accounts) != 15 || n != 15 || len(rows) != 16 {
		t.Fatalf("%d accounts in json, %d in ndjson, %d csv rows; want 15", len(r.Accounts), n, len(rows)-1)
	}
}

// TestAuditByOUPathEqualsTheWalk: audit --ou selects by path prefix from
// ListAccounts, with no ListAccountsForParent call; against an
// Organizations that answers no Paths it walks the tree instead, and the
// report is the same, account for account, byte for byte.
func TestAuditByOUPathEqualsTheWalk(t *testing.T) {
	t.Parallel()
	for _, sel := range [][]string{
		{"--ou", "ou-d3m0-prod0001"},
		{"--ou", "ou-d3m0-prodeu01"},
		{"--ou", "r-d3m0"},
		{"--ou", "ou-d3m0-dev00001", "--exclude", "444444444403"},
		{}, // every account
		{"--accounts", "333333333303,555555555502"},
	} {
		t.Run(strings.Join(append([]string{"audit"}, sel...), " "), func(t *testing.T) {
			t.Parallel()
			report := func(opts fixtures.Options) (string, []fixtures.Call) {
				opts.PageSize = 3 // the prefix read over several pages
				h := newHarness(t, reportOrg(t), opts)
				code, out, stderr := h.run(append([]string{"audit", "-o", "json"}, sel...)...)
				if code != ExitFindings {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				// generated_at, and the requests the two ways cost, are the
				// fields that may differ.
				out = regexp.MustCompile(`"generated_at": "[^"]*"`).ReplaceAllString(out, "")
				return regexp.MustCompile(`"requests": \d+`).ReplaceAllString(out, ""), h.srv.Calls()
			}
			byPath, calls := report(fixtures.Options{})
			byWalk, walkCalls := report(fixtures.Options{NoPaths: true})
			if byPath != byWalk {
				t.Errorf("with Paths:\n%s\nby the walk:\n%s", byPath, byWalk)
			}
			if got := orgOps(calls); slices.Contains(got, "ListAccountsForParent") {
				t.Errorf("with Paths, the selection walked the tree: %q", got)
			}
			if got := orgOps(walkCalls); !slices.Contains(got, "ListAccountsForParent") {
				t.Errorf("without Paths, no walk: %q", got)
			}
			if !strings.Contains(byPath, `"ou_path": "Root/`) {
				t.Errorf("no OU path in\n%s", byPath)
			}
		})
	}
}

func orgOps(calls []fixtures.Call) []string {
	var ops []string
	for _, c := range calls {
		if c.Service == "organizations" {
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

// TestAuditReportsWhenTheRootPasswordWasLastUsed: GetUser's
// PasswordLastUsed becomes password.last_used in JSON, the
// password_last_used column in CSV, and "used N days ago" or "never used"
// in the table.
func TestAuditReportsWhenTheRootPasswordWasLastUsed(t *testing.T) {
	t.Parallel()
	org := reportOrg(t)
	recent := time.Now().UTC().Add(-12*24*time.Hour - time.Hour).Truncate(time.Second)
	old := time.Date(2019, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range org.Accounts {
		switch a := &org.Accounts[i]; a.ID {
		case "333333333302":
			a.Root.Password.LastUsed = &recent
		case "444444444405":
			a.Root.Password.LastUsed = &old
		}
	}
	h := newHarness(t, org, fixtures.Options{})
	sel := []string{"--accounts", "333333333302,333333333303,444444444405,444444444401"}

	_, out, _ := h.run(append([]string{"audit", "-o", "json"}, sel...)...)
	r := parseJSON[AuditReport](t, out)
	lastUse := func(a AccountResult) string {
		switch p := a.Findings.Password; {
		case p == nil:
			return "no password"
		case p.LastUsed == nil:
			return "never"
		default:
			return p.LastUsed.UTC().Format(time.RFC3339)
		}
	}
	want := []string{"333333333302 " + recent.Format(time.RFC3339), "333333333303 never", "444444444401 no password", "444444444405 2019-03-01T12:00:00Z"}
	var got []string
	for _, a := range r.Accounts {
		got = append(got, a.ID+" "+lastUse(a))
	}
	if !slices.Equal(got, want) {
		t.Errorf("json: %q, want %q", got, want)
	}
	if !strings.Contains(out, `"last_used": null`) {
		t.Errorf("json: a password never used has no \"last_used\": null:\n%s", out)
	}

	_, out, _ = h.run(append([]string{"audit", "-o", "csv"}, sel...)...)
	rows, _ := csv.NewReader(strings.NewReader(out)).ReadAll()
	col := slices.Index(rows[0], "password_last_used")
	got = nil
	for _, row := range rows[1:] {
		got = append(got, row[0]+" "+row[col])
	}
	if want := []string{"333333333302 " + recent.Format(time.RFC3339), "333333333303 ", "444444444401 ", "444444444405 2019-03-01T12:00:00Z"}; col < 0 || !slices.Equal(got, want) {
		t.Errorf("csv column %d: %q, want %q", col, got, want)
	}

	_, out, _ = h.run(append([]string{"audit"}, sel...)...)
	oldDays := int(r.GeneratedAt.Sub(old).Hours() / 24)
	for id, want := range map[string]string{
		"333333333302": "yes, set 2022-02-01, used 12 days ago",
		"333333333303": "yes, set 2022-03-01, never used",
		"444444444405": fmt.Sprintf("yes, set 2020-05-01, used %d days ago", oldDays),
	} {
		if row := regexp.MustCompile(`(?m)^.*` + id + `.*$`).FindString(out); !strings.Contains(row, want) {
			t.Errorf("table row of %s lacks %q:\n%s", id, want, out)
		}
	}
}

func TestLastUsedText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { u := now.Add(-d); return &u }
	tests := []struct {
		name string
		used *time.Time
		want string
	}{
		{"never", nil, "never used"},
		{"an hour ago", at(time.Hour), "used today"},
		{"a day and an hour ago", at(25 * time.Hour), "used 1 day ago"},
		{"twelve days ago", at(12*24*time.Hour + time.Minute), "used 12 days ago"},
		{"after now (a clock behind AWS's)", at(-time.Hour), "used today"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastUsedText(tt.used, now); got != tt.want {
				t.Fatalf("lastUsedText = %q, want %q", got, tt.want)
			}
		})
	}
	if got := passwordCell(&rootcreds.Findings{}, now); got != "-" {
		t.Fatalf("no password: %q", got)
	}
}

// TestUnreadableOUNamesLeaveNoPathByName: when the OU names cannot be
// read, the audit still audits every account; an account under an OU has
// its OU path by ID only (half names, half IDs would read as names), one
// warning says why, and an exception naming an OU path is not judged by
// paths it cannot be compared with: not audited, not stale.
func TestUnreadableOUNamesLeaveNoPathByName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, reportOrg(t), fixtures.Options{OpFaults: map[string]string{"organizations:ListOrganizationalUnitsForParent": "AccessDeniedException"}})
	exceptions := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := os.WriteFile(exceptions, []byte(`version: 1
exceptions:
  - ou: Root/Development
    accept: [password, access_key, mfa_virtual, mfa_hardware, mfa_fido, signing_certificate]
    reason: "SEC-1 development accounts"
    approved_by: ciso@example.com
    approved_on: 2026-11-02
    expires: 2027-04-30
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := h.run("audit", "-o", "json", "--exceptions", exceptions)
	r := parseJSON[AuditReport](t, out)
	const warning = "Warning: some accounts have no OU path by name (ou_path), only by ID (ou_path_ids), as OU names could not be read: AccessDeniedException:"
	if code != ExitFindings || r.Summary.Errors != 0 || !strings.Contains(stderr, warning) || strings.Count(stderr, "Warning") != 1 {
		t.Fatalf("exit %d, %+v; stderr %q, want exit 3, no error and %q", code, r.Summary, stderr, warning)
	}
	for _, a := range r.Accounts {
		want := "" // under an OU whose name could not be read
		if demoOUPaths[a.ID][1] == "r-d3m0" {
			want = "Root" // the root's name is ListRoots'
		}
		if a.OUPath != want || a.OUPathIDs != demoOUPaths[a.ID][1] {
			t.Errorf("%s: OU path %q (%q), want %q (%q)", a.ID, a.OUPath, a.OUPathIDs, want, demoOUPaths[a.ID][1])
		}
	}
	if x := r.Exceptions; x == nil || len(x.Entries) != 1 || x.Entries[0].Status != evidence.ExceptionNotAudited || x.Stale != 0 {
		t.Fatalf("exceptions %+v, want the one entry not_audited and none stale", x)
	}
}
