package commands

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/fixtures"
)

// ocsfSchema compiles the vendored JSON Schema of OCSF 1.3.0's Compliance
// Finding class (testdata: see its $comment for the source).
func ocsfSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const path = "testdata/ocsf-1.3.0-compliance_finding.schema.json"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validOCSF(s *jsonschema.Schema, event json.RawMessage) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(event)))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// TestOCSFEventsValidateAgainstTheClassSchema: one Compliance Finding per
// audited account and check, every one valid against OCSF 1.3.0, with the
// checks mapped to CIS and Security Hub, accepted failures suppressed and an
// account that could not be audited a warning.
func TestOCSFEventsValidateAgainstTheClassSchema(t *testing.T) {
	t.Parallel()
	schema := ocsfSchema(t)
	h := newHarness(t, reportOrg(t), fixtures.Options{AssumeRootFaults: map[string]string{"444444444403": "AccessDenied"}})
	pinClock(h, "2026-11-25")
	code, out, stderr := h.run("audit", "-o", "ocsf", "--exceptions", demoExceptions)
	if code != ExitPartial {
		t.Fatalf("exit %d, want 4: %s", code, stderr)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	if len(raw) != 12*4 { // 11 audited accounts and one error, 4 checks each; the 3 skipped have none
		t.Fatalf("%d events, want 48", len(raw))
	}
	byAccount := map[string][]ocsfEvent{}
	for i, r := range raw {
		if err := validOCSF(schema, r); err != nil {
			t.Errorf("event %d is not a valid OCSF 1.3.0 Compliance Finding: %v\n%s", i, err, r)
		}
		var e ocsfEvent
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatal(err)
		}
		byAccount[e.Cloud.Account.UID] = append(byAccount[e.Cloud.Account.UID], e)
	}
	brief := func(es []ocsfEvent) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Compliance.Status+"/"+e.Status)
		}
		return strings.Join(s, " ")
	}
	// root-credentials, root-access-keys, root-mfa, root-hardware-mfa.
	for id, want := range map[string]string{
		"222222222201": "Pass/Resolved Pass/Resolved Pass/Resolved Pass/Resolved",
		"333333333301": "Fail/New Pass/Resolved Fail/New Fail/New",
		"333333333302": "Fail/New Pass/Resolved Pass/Resolved Fail/New",
		"333333333303": "Fail/Suppressed Pass/Resolved Pass/Resolved Pass/Resolved",
		"333333333304": "Fail/New Fail/New Fail/New Fail/New",
		"444444444401": "Fail/New Pass/Resolved Fail/New Fail/New",
		"444444444403": "Warning/New Warning/New Warning/New Warning/New",
		"444444444405": "Fail/New Fail/New Pass/Resolved Fail/New",
		"555555555502": "Fail/Suppressed Pass/Resolved Pass/Resolved Pass/Resolved",
	} {
		if got := brief(byAccount[id]); got != want {
			t.Errorf("%s: %s\nwant %s", id, got, want)
		}
	}
	for _, e := range byAccount["222222222201"] {
		if e.StatusDetail != evidence.NoCredentials || e.Compliance.StatusDetail != evidence.NoCredentials || e.SeverityID != 1 {
			t.Errorf("a root user without credentials passes %s without the explanation: %q (severity %d)", e.FindingInfo.Title, e.StatusDetail, e.SeverityID)
		}
	}
	mapping := map[string]string{}
	var uids []string
	for _, e := range byAccount["333333333304"] {
		mapping[e.Compliance.Control] = strings.Join(e.Compliance.Requirements, ",") + " " + e.Severity
		uids = append(uids, e.FindingInfo.UID)
		if e.Cloud.Org.UID != "o-demo7rootctl" || e.Cloud.Org.OUUID != "ou-d3m0-prod0001" || e.Resources[0].UID != "333333333304" ||
			e.Cloud.Region != "us-east-1" || time.UnixMilli(e.Time).UTC().Format(time.DateOnly) != "2026-11-25" {
			t.Errorf("event of 333333333304: %+v", e)
		}
	}
	wantUIDs := []string{"rootctl/o-demo7rootctl/333333333304/root-credentials", "rootctl/o-demo7rootctl/333333333304/root-access-keys",
		"rootctl/o-demo7rootctl/333333333304/root-mfa", "rootctl/o-demo7rootctl/333333333304/root-hardware-mfa"}
	if !slices.Equal(uids, wantUIDs) {
		t.Errorf("finding uids %v", uids)
	}
	wantMapping := map[string]string{
		"rootctl/root-credentials": "CIS AWS Foundations Benchmark v7.0.0/2.1.1 High",
		"IAM.4":                    "CIS AWS Foundations Benchmark v5.0.0/1.3 Critical",
		"IAM.9":                    "CIS AWS Foundations Benchmark v5.0.0/1.4 Critical",
		"IAM.6":                    "CIS AWS Foundations Benchmark v5.0.0/1.5 Critical",
	}
	if len(mapping) != 4 {
		t.Errorf("controls %v", mapping)
	}
	for k, v := range wantMapping {
		if mapping[k] != v {
			t.Errorf("control %s maps to %q, want %q", k, mapping[k], v)
		}
	}
	suppressed := byAccount["333333333303"][0]
	if suppressed.Comment != "Accepted by exception 1 until 2027-04-30: SEC-101 break-glass root for prod-data-eu; password and token in the safe (approved by ciso@example.com)." {
		t.Errorf("accepted failure's comment: %q", suppressed.Comment)
	}

	// The schema does catch a broken event.
	var good map[string]any
	json.Unmarshal(raw[0], &good)
	for name, breakIt := range map[string]func(m map[string]any){
		"no finding_info":       func(m map[string]any) { delete(m, "finding_info") },
		"another class":         func(m map[string]any) { m["class_uid"] = 2004 },
		"an unknown attribute":  func(m map[string]any) { m["compliance_status"] = "PASS" },
		"a status out of range": func(m map[string]any) { m["compliance"].(map[string]any)["status_id"] = 7 },
		"a time as a string":    func(m map[string]any) { m["time"] = "2026-11-25T00:00:00Z" },
		"a product with no vendor": func(m map[string]any) {
			delete(m["metadata"].(map[string]any)["product"].(map[string]any), "vendor_name")
		},
	} {
		var m map[string]any
		json.Unmarshal(raw[0], &m)
		breakIt(m)
		b, _ := json.Marshal(m)
		if validOCSF(schema, b) == nil {
			t.Errorf("an event with %s passes the schema", name)
		}
	}
}

// TestASFFFindingsAreReadyForBatchImport: the array aws securityhub
// batch-import-findings --findings takes, with every required field, the
// custom integration's ProductArn, and Ids that do not change between runs.
func TestASFFFindingsAreReadyForBatchImport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, reportOrg(t), fixtures.Options{})
	pinClock(h, "2026-11-25")
	run := func(args ...string) ([]map[string]any, []asffFinding) {
		t.Helper()
		code, out, stderr := h.run(append([]string{"audit", "-o", "asff", "--exceptions", demoExceptions}, args...)...)
		if code != ExitFindings {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var raw []map[string]any
		var fs []asffFinding
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(out), &fs)
		return raw, fs
	}
	raw, fs := run()
	if len(fs) != 12*4 { // 12 audited accounts; the 3 skipped have none
		t.Fatalf("%d findings, want 48", len(fs))
	}
	required := []string{"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources",
		"SchemaVersion", "Severity", "Title", "Types", "UpdatedAt"}
	ids := map[string]bool{}
	for i, f := range fs {
		for _, k := range required {
			if v, ok := raw[i][k]; !ok || v == "" {
				t.Errorf("finding %d lacks %s", i, k)
			}
		}
		if _, err := time.Parse(time.RFC3339, f.CreatedAt); err != nil || f.CreatedAt != f.UpdatedAt {
			t.Errorf("finding %d: CreatedAt %q UpdatedAt %q", i, f.CreatedAt, f.UpdatedAt)
		}
		acct := f.ProductFields["rootctl/AccountId"]
		check := f.ProductFields["rootctl/Check"]
		if f.SchemaVersion != "2018-10-08" || f.ProductArn != "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default" ||
			f.AwsAccountID != "111111111111" || f.GeneratorID != "rootctl/"+check || f.ID != "rootctl/o-demo7rootctl/"+acct+"/"+check ||
			len(f.Resources) != 1 || f.Resources[0] != (asffResource{Type: "AwsAccount", ID: "AWS::::Account:" + acct, Partition: "aws", Region: "us-east-1"}) ||
			len(f.Title) > asffTitleMax || len(f.Description) > asffDescriptionMax || f.RecordState != "ACTIVE" ||
			!slices.Contains([]string{"PASSED", "FAILED"}, f.Compliance.Status) || !slices.Contains([]string{"NEW", "SUPPRESSED", "RESOLVED"}, f.Workflow.Status) ||
			!slices.Contains([]string{"INFORMATIONAL", "HIGH", "CRITICAL"}, f.Severity.Label) {
			t.Errorf("finding %d: %+v", i, f)
		}
		if ids[f.ID] {
			t.Errorf("Id %s twice", f.ID)
		}
		ids[f.ID] = true
	}
	find := func(id string) asffFinding {
		for _, f := range fs {
			if f.ID == id {
				return f
			}
		}
		t.Fatalf("no finding %s", id)
		return asffFinding{}
	}
	keys := find("rootctl/o-demo7rootctl/333333333304/root-access-keys")
	if keys.Compliance.Status != "FAILED" || keys.Workflow.Status != "NEW" || keys.Severity.Label != "CRITICAL" ||
		!slices.Equal(keys.Compliance.RelatedRequirements, []string{"CIS AWS Foundations Benchmark v5.0.0/1.3"}) ||
		keys.ProductFields["rootctl/SecurityHubControl"] != "IAM.4" || keys.Note != nil {
		t.Errorf("root access keys of 333333333304: %+v", keys)
	}
	breakGlass := find("rootctl/o-demo7rootctl/333333333303/root-credentials")
	if breakGlass.Compliance.Status != "FAILED" || breakGlass.Workflow.Status != "SUPPRESSED" || breakGlass.Note == nil ||
		!strings.HasPrefix(breakGlass.Note.Text, "Accepted by exception 1 until 2027-04-30") || breakGlass.ProductFields["rootctl/ExceptionExpires"] != "2027-04-30" {
		t.Errorf("accepted failure: %+v", breakGlass)
	}
	clean := find("rootctl/o-demo7rootctl/555555555501/root-hardware-mfa")
	if clean.Compliance.Status != "PASSED" || clean.Workflow.Status != "RESOLVED" || clean.Severity.Label != "INFORMATIONAL" || clean.Description != evidence.NoCredentials {
		t.Errorf("clean account: %+v", clean)
	}

	// The same organization gives the same Ids, so a re-import updates.
	_, again := run()
	for i := range fs {
		if again[i].ID != fs[i].ID {
			t.Fatalf("finding %d: Id %s, then %s", i, fs[i].ID, again[i].ID)
		}
	}
	// The region is the ProductArn's.
	_, eu := run("--region", "eu-west-1")
	if eu[0].ProductArn != "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default" || eu[0].ID != fs[0].ID {
		t.Errorf("in eu-west-1: %s, %s", eu[0].ProductArn, eu[0].ID)
	}
}

// element is a node of a parsed XHTML page.
type element struct {
	name string
	attr map[string]string
	kids []*element
	text strings.Builder // all the text inside, the descendants' included
}

// parseXHTML parses the page as strict XML: well-formed, every entity
// known.
func parseXHTML(t *testing.T, page string) *element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	root := &element{name: "#document"}
	stack := []*element{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			e := &element{name: v.Name.Local, attr: map[string]string{}}
			for _, a := range v.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, e)
			stack = append(stack, e)
			for _, e := range stack {
				e.text.WriteByte(' ') // elements separate words, as a browser shows cells and items
			}
		case xml.EndElement:
			for _, e := range stack {
				e.text.WriteByte(' ')
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			for _, e := range stack {
				e.text.Write(v)
			}
		}
	}
	return root
}

func (e *element) all(match func(*element) bool) []*element {
	var out []*element
	for _, k := range e.kids {
		if match(k) {
			out = append(out, k)
		}
		out = append(out, k.all(match)...)
	}
	return out
}

func (e *element) byID(id string) *element {
	if r := e.all(func(k *element) bool { return k.attr["id"] == id }); len(r) == 1 {
		return r[0]
	}
	return nil
}

func (e *element) Text() string { return strings.Join(strings.Fields(e.text.String()), " ") }

// TestHTMLReportShowsEachAccount parses the page and reads it per account:
// its row, its exception, its drift; the chart by OU; the exceptions and
// the drift; and that a hostile name stays text.
func TestHTMLReportShowsEachAccount(t *testing.T) {
	t.Parallel()
	base := baselineOf(t, reportOrg(t))
	org := laterDemo(t)
	hostile := `<script>alert("root")</script> & <img src=x onerror=alert(1)>`
	for i := range org.Accounts {
		if org.Accounts[i].ID == "222222222201" {
			org.Accounts[i].Name = hostile
		}
	}
	h := newHarness(t, org, fixtures.Options{})
	pinClock(h, "2026-11-25")
	code, out, stderr := h.run("audit", "-o", "html", "--exceptions", demoExceptions, "--baseline", base)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page := parseXHTML(t, out)
	// Self-contained: nothing fetched, nothing run.
	if bad := page.all(func(e *element) bool {
		return slices.Contains([]string{"script", "img", "link", "iframe", "object", "embed"}, e.name) || e.attr["src"] != "" || e.attr["href"] != "" ||
			e.attr["onerror"] != "" || e.attr["onload"] != ""
	}); len(bad) > 0 {
		t.Errorf("the page has %d elements that fetch or run something: first <%s %v>", len(bad), bad[0].name, bad[0].attr)
	}
	if title := page.all(func(e *element) bool { return e.name == "title" }); len(title) == 0 || title[0].Text() != "Root credentials of o-demo7rootctl, 2026-11-25 12:00:00 UTC" &&
		!strings.HasPrefix(title[0].Text(), "Root credentials of o-demo7rootctl, 2026-11-25") {
		t.Errorf("title: %v", title)
	}
	if got := page.byID("totals").Text(); got != "15 accounts 3 compliant 9 with root credentials 3 skipped 0 errors 10 open findings 5 accepted" {
		t.Errorf("totals: %q", got)
	}
	cells := func(id string) []string {
		row := page.byID("account-" + id)
		if row == nil {
			t.Fatalf("no row for %s", id)
		}
		var out []string
		for _, td := range row.kids {
			out = append(out, td.Text())
		}
		return out
	}
	for id, want := range map[string][]string{
		"222222222201": {"222222222201", hostile, "Root/Security", "ROOT CREDENTIALS", "access_key AKIA3DEMO0SECTOOL001, Active, never used (new)", "-", "new: access_key AKIA3DEMO0SECTOOL001"},
		"333333333303": {"333333333303", "prod-data-eu", "Root/Production/Production-EU", "accepted", "password, set 2022-03-01 (accepted) mfa_hardware GAHT12345678 (accepted)", "entry 1 until 2027-04-30: password, mfa_hardware", "unchanged"},
		"333333333304": {"333333333304", "prod-api", "Root/Production", "ROOT CREDENTIALS", "access_key AKIA3DEMO0PRODAPI001, Active, last used 2026-11-20", "-", "resolved: access_key AKIA3DEMO0PRODAPI002"},
		"444444444401": {"444444444401", "dev-sandbox", "Root/Development", "ROOT CREDENTIALS", "signing_certificate DEMOCERT4444444444010000", "entry 3 EXPIRED 2026-10-31: signing_certificate", "unchanged"},
		"555555555504": {"555555555504", "sandbox-new", "Root/Sandbox", "accepted", "password, set 2026-11-21 (accepted) (new)", "entry 2 until 2027-03-15: password", "appeared"},
		"111111111111": {"111111111111", "org-management", "Root", "skipped: management account (AssumeRoot cannot target it)", "-", "-", "-"},
	} {
		if got := cells(id); !slices.Equal(got, want) {
			t.Errorf("row %s:\n got %q\nwant %q", id, got, want)
		}
	}
	// The chart: one bar per OU with findings, open and accepted.
	var bars []string
	for _, g := range page.all(func(e *element) bool { return e.name == "g" && e.attr["class"] == "bar" }) {
		bars = append(bars, g.attr["data-ou"]+": "+g.kids[len(g.kids)-1].Text())
	}
	wantBars := []string{"Root/Development: 5 open, 0 accepted", "Root/Production: 4 open, 0 accepted",
		"Root/Production/Production-EU: 0 open, 2 accepted", "Root/Sandbox: 0 open, 3 accepted", "Root/Security: 1 open, 0 accepted"}
	if !slices.Equal(bars, wantBars) {
		t.Errorf("chart bars:\n%s\nwant\n%s", strings.Join(bars, "\n"), strings.Join(wantBars, "\n"))
	}
	if svg := page.all(func(e *element) bool { return e.name == "svg" }); len(svg) != 1 || svg[0].attr["xmlns"] != "" && svg[0].attr["xmlns"] != "http://www.w3.org/2000/svg" {
		t.Errorf("svg: %v", svg)
	}
	// Exceptions, with their expiry and status.
	for id, want := range map[string]string{
		"exception-1": "1 account 333333333303 password, mfa_hardware SEC-101 break-glass root for prod-data-eu; password and token in the safe ciso@example.com 2026-11-02 2027-04-30 accepted: accepts 2 findings until 2027-04-30",
		"exception-3": "3 account 444444444401 signing_certificate SEC-64 legacy SOAP signing, to be retired security-lead@example.com 2025-11-01 2026-10-31 expired: expired on 2026-10-31: remove the credentials, or renew the exception (a new approved_on and expires)",
	} {
		if got := page.byID(id).Text(); got != want {
			t.Errorf("%s:\n got %q\nwant %q", id, got, want)
		}
	}
	// Drift against the baseline (its spans are words apart).
	if got := page.byID("drift").Text(); !strings.HasSuffix(got, ": 2 new , 13 persisting, 1 resolved findings.") {
		t.Errorf("drift: %q", got)
	}
	if got := page.byID("accounts-changed").Text(); got != "Account Name Change 555555555504 sandbox-new appeared 444444444402 dev-tools left the organization (0 findings in the baseline)" {
		t.Errorf("accounts changed: %q", got)
	}
	// The checks, with their mapping.
	if got := page.byID("checks").Text(); !strings.Contains(got, "No access key for the root user CIS AWS Foundations Benchmark v5.0.0 1.3 IAM.4 9 3 0 0") {
		t.Errorf("checks: %q", got)
	}
}
