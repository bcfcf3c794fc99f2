package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
)

// Every JSON document, and every NDJSON line, opens with the schema
// version, the organization's ID and the time it was made.
func TestEveryDocumentCarriesItsHeader(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"status", "-o", "json"},
		{"audit", "--accounts", "333333333301", "-o", "json", "--exit-zero"},
		{"locks", "--accounts", "444444444402", "--reason", "INC-7", "-o", "json"},
		{"delete", "--accounts", "333333333301", "--reason", "SEC-42", "--dry-run", "-o", "json"},
		{"recovery", "--accounts", "333333333301", "--reason", "SEC-77", "--dry-run", "-o", "json"},
		{"hook", "account-created", "--account-id", "333333333304", "-o", "json"},
		{"activity", "-o", "json"},
		{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--dry-run", "-o", "json"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, out, stderr := h.run(args...)
			if code != ExitOK && code != ExitFindings {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkHeader(t, out)
		})
	}
}

// checkHeader checks that doc opens with schema_version 2, the demo
// organization's ID and a time of generation.
func checkHeader(t *testing.T, doc string) {
	t.Helper()
	var h Header
	if err := json.Unmarshal([]byte(doc), &h); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, doc)
	}
	if h.SchemaVersion != 2 || h.OrganizationID != "o-demo7rootctl" || h.GeneratedAt.IsZero() {
		t.Fatalf("header %+v, want schema 2, o-demo7rootctl and a time", h)
	}
	if !strings.HasPrefix(strings.TrimSpace(doc), `{"schema_version":2,`) && !strings.HasPrefix(strings.TrimSpace(doc), "{\n  \"schema_version\": 2,") {
		t.Fatalf("the document does not open with its schema version:\n%.200s", doc)
	}
}

func TestEveryNDJSONLineCarriesTheHeader(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	// The Legacy OU's two accounts are blocked by a guardrail: audit ends
	// partial, --exit-zero or not.
	for _, args := range [][]string{{"audit", "-o", "ndjson", "--exit-zero"}, {"activity", "-o", "ndjson"}} {
		code, out, stderr := h.run(args...)
		if want := map[string]int{"audit": ExitPartial, "activity": ExitOK}[args[0]]; code != want {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if args[0] == "audit" && len(lines) != 18 {
			t.Fatalf("%v: %d lines, want one per account of the demo organization (18)", args, len(lines))
		}
		for _, l := range lines {
			checkHeader(t, l)
		}
	}
}

// On a terminal narrower than 120 columns, tables drop their low-value
// columns, unless --wide; a pipe (no width) gets every column.
func TestTablesFitTheTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, tc := range []struct {
		name   string
		width  int
		wide   bool
		wantMF bool // the MFA devices column is shown
	}{
		{"an 80-column terminal drops the MFA devices column", 80, false, false},
		{"--wide shows it on an 80-column terminal", 80, true, true},
		{"a 160-column terminal shows it", 160, false, true},
		{"a pipe shows it", 0, false, true},
	} {
		var out, errOut bytes.Buffer
		d := h.deps(&out, &errOut)
		d.IO.Width = tc.width
		args := []string{"rootctl", "audit", "--accounts", "333333333301", "--exit-zero"}
		if tc.wide {
			args = append(args, "--wide")
		}
		if code := Run(context.Background(), args, d); code != ExitOK {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errOut.String())
		}
		if got := strings.Contains(out.String(), "MFA devices"); got != tc.wantMF || !strings.Contains(out.String(), "Access keys") {
			t.Errorf("%s: MFA devices shown %v, want %v:\n%s", tc.name, got, tc.wantMF, out.String())
		}
	}
}

// failingWriter fails every write, as a closed pipe or a full disk would.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A report that cannot be written is a failure, in every format.
func TestWriteErrorsAreReturned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, format := range []string{"table", "json", "csv", "ndjson"} {
		var errOut bytes.Buffer
		d := h.deps(&bytes.Buffer{}, &errOut)
		d.IO.Out = failingWriter{}
		code := Run(context.Background(), []string{"rootctl", "audit", "--accounts", "333333333301", "--exit-zero", "-o", format}, d)
		if code != ExitFailure || !strings.Contains(errOut.String(), "writing the report: no space left on device") {
			t.Errorf("-o %s: exit %d, stderr %q; want 1 naming the write error", format, code, errOut.String())
		}
	}
	var errOut bytes.Buffer
	d := h.deps(&bytes.Buffer{}, &errOut)
	d.IO.Out = failingWriter{}
	if code := Run(context.Background(), []string{"rootctl", "status"}, d); code != ExitFailure || !strings.Contains(errOut.String(), "writing the report") {
		t.Errorf("status: exit %d, stderr %q; want 1 naming the write error", code, errOut.String())
	}
}

// TestBulkJSONIsTheEncodersDocument: the audit's JSON, each account encoded
// as it is audited and the document written one account at a time, is
// byte for byte what encoding/json writes of the whole report: names with
// markup and separators, and an empty list, included.
func TestBulkJSONIsTheEncodersDocument(t *testing.T) {
	t.Parallel()
	org := reportOrg(t)
	org.Accounts[3].Name = "<b>prod</b> & \"eu\"\u2028\tx"
	h := newHarness(t, org, fixtures.Options{})
	_, out, _ := h.run("audit", "-o", "json")
	r := parseJSON[AuditReport](t, out)
	type plain AuditReport // the same fields, without takeAccounts
	var whole bytes.Buffer
	enc := json.NewEncoder(&whole)
	enc.SetIndent("", "  ")
	if err := enc.Encode(plain(r)); err != nil {
		t.Fatal(err)
	}
	if out != whole.String() || len(r.Accounts) != len(org.Accounts) {
		t.Fatalf("audit -o json wrote\n%s\nencoding/json, of the %d accounts it read back from it:\n%s", out, len(r.Accounts), whole.String())
	}
	for _, accounts := range [][]AccountResult{r.Accounts, {}} {
		r.Accounts = accounts
		sameJSON(t, plain(r), &r)
		if len(r.Accounts) != len(accounts) {
			t.Fatalf("printJSON left %d accounts in the report, want %d", len(r.Accounts), len(accounts))
		}
		// The same accounts encoded ahead, as audit -o json keeps them.
		encoded := r
		encoded.Accounts, encoded.encoded = nil, []indentedItem{}
		for i := range accounts {
			item, err := indentItem(&accounts[i])
			if err != nil {
				t.Fatal(err)
			}
			encoded.encoded = append(encoded.encoded, item)
		}
		sameJSON(t, plain(r), &encoded)
	}
	if !strings.Contains(out, `\u003cb\u003eprod`) {
		t.Fatalf("the audit's JSON does not escape the account name as encoding/json does:\n%s", out)
	}

	// delete's and locks' reports, the same way.
	_, out, _ = h.run("delete", "--all-accounts", "--reason", "r", "--dry-run", "-o", "json")
	job := parseJSON[JobReport](t, out)
	type plainJob JobReport
	sameJSON(t, plainJob(job), &job)
	_, out, _ = h.run("locks", "--reason", "r", "-o", "json")
	locks := parseJSON[LocksReport](t, out)
	type plainLocks LocksReport
	sameJSON(t, plainLocks(locks), &locks)
}

// sameJSON fails unless printJSON writes of report what encoding/json
// writes of plain, the same report without takeAccounts.
func sameJSON(t *testing.T, plain any, report bulkJSON) {
	t.Helper()
	var want, got bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(plain); err != nil {
		t.Fatal(err)
	}
	if err := printJSON(&got, report); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() || !strings.Contains(want.String(), `"accounts": [`) {
		t.Fatalf("printJSON wrote\n%s\nencoding/json\n%s", got.String(), want.String())
	}
}
