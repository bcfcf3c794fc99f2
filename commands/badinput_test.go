package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
)

// orgState is the emulator's whole organization, to compare before and
// after a run.
func orgState(t *testing.T, h *harness) string {
	t.Helper()
	b, err := json.Marshal(h.srv.Org())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBadInputChangesNothing feeds malformed values to the flags of
// status, enable, delete, recovery and locks, and to the flags and
// arguments every command shares: each gets exit 2, nothing on stdout, one
// line on stderr naming the problem, and the emulator's organization is as
// it was. (audit, unlock, credentials, exec, hook, account create,
// activity, completion and sim serve have bad-input tables of their own.)
// The organization has an OU with no account, ou-d3m0-empty001.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 513)
	// A file where a directory must be: neither the audit log nor a backup
	// can be written under it.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// --audit-log names something that is not a private regular file.
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.log")
	if err := os.WriteFile(theirs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(theirs, link); err != nil {
		t.Fatal(err)
	}
	type badInput struct {
		args []string
		want string
	}
	// Exceptions files and baselines that are refused before any session.
	exDir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(exDir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	today := time.Now().UTC()
	entries := 0
	entry := func(fields string) string {
		entries++
		return file(fmt.Sprintf("exceptions-%d.yaml", entries), "version: 1\nexceptions:\n  - {"+fields+"}\n")
	}
	base := `account: "333333333303", reason: r, approved_by: a, `
	approved := today.AddDate(0, 0, -10).Format(time.DateOnly)
	good := base + "accept: [password], approved_on: " + approved + ", expires: " + today.AddDate(0, 0, 30).Format(time.DateOnly)
	baseline := func(name, doc string) string { return file(name, doc) }
	otherOrg := baseline("other-org.json", `{"schema_version": 2, "organization_id": "o-other0000001", "generated_at": "2026-11-01T00:00:00Z", "accounts": [], "summary": {"with_root_credentials": 0}}`)
	// An audit or locks run whose selection matches no account, or names an
	// OU or account that is not there, writes nothing to stdout in any
	// format: a pipeline must not read "no root credentials" from it.
	var nothingSelected []badInput
	for _, format := range []string{"table", "json", "csv", "ndjson"} {
		for _, sel := range []badInput{
			{[]string{"--tag", "env=prd"}, "no account of the organization matches the selection (--tag env=prd), so nothing was audited"},
			{[]string{"--tag", "nobody=x"}, "matches the selection (--tag nobody=x)"},
			{[]string{"--ou", "ou-d3m0-empty001"}, "matches the selection (--ou ou-d3m0-empty001)"},
			{[]string{"--accounts", "333333333301,444444444405", "--exclude", "444444444405,333333333301"}, "matches the selection"},
			{[]string{"333333333301", "--exclude", "333333333301"}, "matches the selection"},
			{[]string{"--ou", "ou-d3m0-nothere1"}, "--ou ou-d3m0-nothere1: no such OU"},
			{[]string{"--accounts", "123456789012"}, "account 123456789012 is not an account of organization o-demo7rootctl"},
			{[]string{"333333333301", "999999999999"}, "account 999999999999 is not an account of organization"},
		} {
			nothingSelected = append(nothingSelected, badInput{append([]string{"audit", "-o", format}, sel.args...), sel.want})
		}
	}
	for _, tc := range append(nothingSelected, []badInput{
		{[]string{"status", "-o", "xml"}, `--output "xml"`},
		{[]string{"status", "--region", "aws-global"}, "aws-global"},
		{[]string{"status", "--bogus"}, "flag provided but not defined"},
		{[]string{"enable", "--delegate", "1234"}, "12-digit"},
		{[]string{"enable", "--delegate", "111111111111", "--yes"}, "is the management account"},
		{[]string{"enable", "--delegate", "999999999999", "--yes"}, "not an account of organization"},
		{[]string{"enable", "--delegate", "444444444404", "--yes"}, "--delegate 444444444404 is SUSPENDED"},
		{[]string{"delete", "--yes"}, "--reason is required"},
		{[]string{"delete", "--reason", "  ", "--yes"}, "--reason is required"},
		{[]string{"delete", "--reason", long, "--yes"}, "513 characters"},
		{[]string{"delete", "--reason", "a\nb", "--yes"}, "one line"},
		{[]string{"delete", "--reason", "r", "--accounts", "12", "--yes"}, "want 12 digits"},
		{[]string{"delete", "--reason", "r", "--accounts", "", "--yes"}, "--accounts is empty"},
		{[]string{"delete", "--reason", "r", "--exclude", "abc", "--yes"}, "want 12 digits"},
		{[]string{"delete", "--reason", "r", "--ou", "prod", "--yes"}, "ou-xxxx-xxxxxxxx"},
		{[]string{"delete", "--reason", "r", "--ou", "ou-d3m0-nothere1", "--yes"}, "no such OU"},
		{[]string{"delete", "--reason", "r", "--ou", "", "--yes"}, "--ou is empty"},
		{[]string{"delete", "--reason", "r", "--tag", "team", "--yes"}, "KEY=VALUE"},
		{[]string{"delete", "--reason", "r", "--accounts", "222222222201", "--ou", "ou-d3m0-prod0001", "--yes"}, "conflict"},
		{[]string{"delete", "--reason", "r", "--concurrency", "0", "--yes"}, "--concurrency 0"},
		{[]string{"delete", "--reason", "r", "--concurrency", "1001", "--yes"}, "--concurrency 1001"},
		{[]string{"delete", "--reason", "r", "--concurrency", "many", "--yes"}, "invalid value"},
		{[]string{"delete", "--reason", "r", "-o", "csv", "--yes"}, `--output "csv"`},
		{[]string{"delete", "--reason", "r", "--passwords", "--yes"}, "flag provided but not defined"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", filepath.Join(notDir, "audit.log"), "--yes"}, "pass --audit-log FILE"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", link, "--yes"}, "is a symbolic link, not a regular file: name a regular file, or a new one (pass --audit-log FILE)"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", dir, "--yes"}, "is a directory, not a regular file"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", "/dev/null", "--yes"}, "/dev/null is a character device, not a regular file"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", theirs, "--yes"}, "(mode 0644): make it private with: chmod 600 " + theirs},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--backup-dir", filepath.Join(notDir, "b"), "--yes"}, "pass --backup-dir DIR"},
		{[]string{"recovery", "--yes"}, "--reason is required"},
		{[]string{"recovery", "--reason", "r", "--accounts", "1x2345678901", "--yes"}, "want 12 digits"},
		{[]string{"recovery", "--reason", "r", "-o", "ndjson", "--yes"}, `--output "ndjson"`},
		{[]string{"locks"}, "--reason is required"},
		{[]string{"locks", "--reason", "r", "--ou", "ou-d3m0-nothere1"}, "no such OU"},
		{[]string{"locks", "--reason", "r", "--concurrency", "-3"}, "--concurrency -3"},
		{[]string{"locks", "--reason", "r", "--queue-regions", "us-east-1,moon"}, `--queue-regions "us-east-1,moon": want region names such as us-east-1,eu-west-1`},
		{[]string{"locks", "--reason", "r", "--queue-regions", ""}, `--queue-regions "": want region names`},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--request-timeout", "0", "--yes"}, "--request-timeout 0s: want a duration above 0 and at most 10m"},
		{[]string{"status", "--request-timeout", "-1s"}, "--request-timeout -1s: want a duration above 0 and at most 10m"},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--request-timeout", "11m", "--yes"}, "--request-timeout 11m0s: want"},
		{[]string{"locks", "--reason", "r", "--request-timeout", "soon"}, "invalid value \"soon\" for flag -request-timeout"},
		{[]string{"credentials", "--account", "999999999999", "--task", "audit", "--reason", "r"}, "--account 999999999999 is not an account of organization o-demo7rootctl"},
		{[]string{"credentials", "--account", "111111111111", "--task", "audit", "--reason", "r"}, "--account 111111111111: management account (AssumeRoot cannot target it), so no root session can be had in it"},
		{[]string{"exec", "--account", "444444444404", "--task", "audit", "--reason", "r", "--", "true"}, "--account 444444444404: account is SUSPENDED, so no root session can be had in it"},
		{[]string{"unlock", "s3", "--account", "999999999999", "--bucket", "dev-tools-artifacts", "--reason", "r", "--yes"}, "--account 999999999999 is not an account of organization"},
		{[]string{"unlock", "sqs", "--account", "111111111111", "--queue", "orders", "--reason", "r", "--yes"}, "--account 111111111111: management account"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--audit-log", "", "--yes"}, "--audit-log is empty: name a file"},
		{[]string{"delete", "--reason", "r", "--all-accounts"}, "refusing to change anything without confirmation"},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r"}, "refusing to change anything without confirmation"},
		{[]string{"audits"}, `unknown command "audits": did you mean "audit"? (run: rootctl --help)`},
		{[]string{"unlock", "s4"}, `unknown command "s4": did you mean "s3"? (run: rootctl unlock --help)`},
		{[]string{"hook", "account-deleted"}, `unknown command "account-deleted"`},
		{[]string{"help", "audt"}, `unknown command "audt": did you mean "audit"?`},
		{[]string{"help", "unlock", "s3"}, `unexpected argument "s3": help takes one command (run: rootctl unlock s3 --help)`},

		// Stray arguments: urfave/cli stops reading flags at the first one,
		// so each is refused, naming the flag probably meant.
		{[]string{"status", "--sim", "999999999999"}, `unexpected argument "999999999999": rootctl status takes no arguments`},
		{[]string{"status", "--sim", "fresh"}, `unexpected argument "fresh": did you mean --sim=fresh?`},
		{[]string{"enable", "--sim", "--dry-run", "999999999999"}, `unexpected argument "999999999999": did you mean --delegate 999999999999?`},
		{[]string{"audit", "--sim", "999999999999"}, "account 999999999999 is not an account of organization o-demo7rootctl"},
		{[]string{"audit", "--sim", "fresh", "-o", "json"}, `unexpected argument "fresh": did you mean --sim=fresh?`},
		{[]string{"audit", "333333333301", "12345"}, `unexpected argument "12345": arguments are 12-digit account IDs`},
		// Not every stray word after a bare --sim was meant as its value.
		{[]string{"audit", "--sim", "44444444440"}, `unexpected argument "44444444440": arguments are 12-digit account IDs`},
		{[]string{"delete", "--sim", "--reason", "r", "--dry-run", "444444444405", "--", "--yes"}, `unexpected argument "--yes": arguments are 12-digit account IDs`},
		{[]string{"delete", "--sim", "--reason", "smoke", "--dry-run", "--accounts", "333333333301", "999999999999"}, "account IDs as arguments and --accounts conflict"},
		{[]string{"recovery", "--sim", "--reason", "smoke", "--dry-run", "--accounts", "333333333301", "999999999999"}, "account IDs as arguments and --accounts conflict"},
		{[]string{"delete", "--reason", "r", "--dry-run", "444444444405", "fresh"}, `unexpected argument "fresh"`},
		{[]string{"delete", "--reason", "r", "333333333301", "--ou", "ou-d3m0-prod0001", "--yes"}, "account IDs as arguments and --ou conflict"},
		{[]string{"locks", "--sim", "--reason", "smoke", "999999999999"}, "account 999999999999 is not an account of organization"},
		{[]string{"credentials", "--sim", "--account", "444444444402", "--task", "audit", "--reason", "smoke", "999999999999"}, `unexpected argument "999999999999": did you mean --account 999999999999?`},
		{[]string{"activity", "--sim", "999999999999"}, `unexpected argument "999999999999": did you mean --account 999999999999?`},
		{[]string{"exec", "--sim", "fresh", "--account", "444444444402", "--task", "audit", "--reason", "r", "--", "true"}, `unexpected argument "fresh": did you mean --sim=fresh? (run: rootctl exec --help)`},
		{[]string{"exec", "--account", "444444444402", "--task", "audit", "--reason", "r", "true"}, `unexpected argument "true": put the command to run after --`},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--yes", "444444444402"}, "did you mean --account 444444444402?"},
		{[]string{"hook", "account-created", "333333333302"}, "did you mean --account-id 333333333302?"},
		{[]string{"account", "create", "--name", "x", "--email", "aws+x@example.com", "sandbox", "prod"}, `unexpected arguments "sandbox" "prod": rootctl account create takes no arguments`},
		{[]string{"sim", "serve", "--addr", "127.0.0.1:0", "demo"}, `unexpected argument "demo": rootctl sim serve takes no arguments`},
		{[]string{"sim", "serve", "--addr", "127.0.0.1:0", "999999999999"}, `unexpected argument "999999999999": rootctl sim serve takes no arguments`},

		// Commands that change accounts need an explicit selection.
		{[]string{"delete", "--reason", "r", "--yes"}, "delete needs a selection: pass account IDs (or --accounts ID,…), --ou OU_ID, --tag KEY=VALUE, or --all-accounts"},
		{[]string{"recovery", "--reason", "r", "--dry-run"}, "recovery needs a selection"},
		{[]string{"delete", "--reason", "r", "--exclude", "333333333301", "--yes"}, "delete needs a selection"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--accounts", "333333333301", "--yes"}, "--all-accounts conflicts"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--ou", "ou-d3m0-prod0001", "--yes"}, "--all-accounts conflicts"},
		{[]string{"recovery", "--reason", "r", "--all-accounts", "--tag", "team=web", "--yes"}, "--all-accounts conflicts"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "333333333301", "--yes"}, "--all-accounts conflicts"},
		{[]string{"audit", "--all-accounts", "--ou", "ou-d3m0-prod0001"}, "--all-accounts conflicts"},
		{[]string{"delete", "--reason", "r", "--accounts", "333333333301,,444444444405", "--yes"}, `--accounts "333333333301,,444444444405" has an empty ID`},
		{[]string{"delete", "--reason", "r", "--accounts", "333333333301,", "--yes"}, "has an empty ID"},
		{[]string{"delete", "--reason", "r", "--all-accounts", "--exclude", "333333333301,,444444444405", "--yes"}, `--exclude "333333333301,,444444444405" has an empty ID`},
		{[]string{"locks", "--reason", "r", "--exclude", ",333333333301"}, "has an empty ID"},
		{[]string{"delete", "--reason", "r", "--accounts", "999999999999", "--yes"}, "account 999999999999 is not an account of organization"},
		// A mistyped --exclude would act on the account meant to be spared.
		{[]string{"delete", "--reason", "r", "--all-accounts", "--exclude", "333333333310", "--yes"}, "excluded account 333333333310 is not an account of organization o-demo7rootctl: check the IDs"},
		{[]string{"audit", "-o", "json", "--exclude", "999999999999"}, "excluded account 999999999999 is not an account of organization"},
		{[]string{"delete", "--reason", "r", "999999999999", "--dry-run"}, "account 999999999999 is not an account of organization"},
		// A member account first: no session is assumed before every ID is checked.
		{[]string{"recovery", "--reason", "r", "--accounts", "222222222202,999999999999", "--yes"}, "account 999999999999 is not an account of organization"},
		{[]string{"locks", "--reason", "r", "--accounts", "444444444402,999999999999"}, "account 999999999999 is not an account of organization"},
		{[]string{"delete", "--reason", "r", "--tag", "env=prd", "--yes"}, "matches the selection (--tag env=prd), so nothing was changed"},
		{[]string{"recovery", "--reason", "r", "--ou", "ou-d3m0-empty001", "--dry-run"}, "so nothing was changed"},
		{[]string{"delete", "--reason", "r", "--accounts", "333333333301", "--exclude", "333333333301", "--yes"}, "so nothing was changed"},
		{[]string{"locks", "--reason", "r", "--tag", "env=prd"}, "so nothing was checked"},
		{[]string{"locks", "--reason", "r", "--ou", "ou-d3m0-empty001", "-o", "json"}, "so nothing was checked"},
		{[]string{"locks", "--reason", "r", "444444444402", "--exclude", "444444444402", "-o", "json"}, "so nothing was checked"},

		// Exceptions that cannot be trusted, and baselines of something else.
		{[]string{"audit", "--exceptions", file("malformed.yaml", "version: 1\nexceptions: [\n")}, "malformed.yaml: not YAML or JSON: line 2: did not find expected node content (the format: docs/exceptions.md)"},
		{[]string{"audit", "--exceptions", entry(strings.Replace(good, "[password]", "[password, mfa]", 1))}, `entry 1 (line 3): accept: unknown credential kind "mfa": want password, access_key, mfa_virtual, mfa_hardware, mfa_fido, signing_certificate`},
		{[]string{"audit", "--exceptions", entry(good + ", owner: me")}, `unknown field "owner": want account, ou, accept, reason, approved_by, approved_on, expires`},
		{[]string{"audit", "--exceptions", entry(base + "accept: [password], approved_on: 2026-11-02, expires: 2026-11-01")}, "expires 2026-11-01 is before approved_on 2026-11-02: an exception cannot expire before it is approved"},
		{[]string{"audit", "--exceptions", entry(base + "accept: [password], approved_on: " + approved + ", expires: " + today.AddDate(1, 1, 0).Format(time.DateOnly))}, "an exception lasts at most 366 days; approve it again before then"},
		{[]string{"audit", "-o", "json", "--exceptions", entry(base + "accept: [password], approved_on: " + today.AddDate(0, 0, 2).Format(time.DateOnly) + ", expires: " + today.AddDate(0, 0, 30).Format(time.DateOnly))}, "is in the future: write the day it was approved"},
		{[]string{"audit", "--exceptions", entry(strings.Replace(good, `"333333333303"`, "333333333303", 1))}, `write the account ID in quotes ("333333333303")`},
		{[]string{"audit", "--exceptions", file("empty.yaml", "")}, "the file is empty: want version: 1 and a list of exceptions"},
		{[]string{"audit", "--exceptions", filepath.Join(exDir, "none.yaml")}, "--exceptions: open " + filepath.Join(exDir, "none.yaml") + ": no such file or directory"},
		{[]string{"audit", "--baseline", otherOrg}, "--baseline " + otherOrg + " is a report of organization o-other0000001, and this is o-demo7rootctl: pass a baseline of this organization"},
		{[]string{"audit", "-o", "ndjson", "--baseline", baseline("v1.json", `{"schema_version": 1, "organization_id": "o-demo7rootctl", "accounts": [], "summary": {"with_root_credentials": 0}}`)}, "schema_version 1: this rootctl reads schema version 2; make a new baseline with this rootctl (rootctl audit -o json > baseline.json)"},
		{[]string{"audit", "--baseline", baseline("v3.json", `{"schema_version": 3, "organization_id": "o-demo7rootctl", "accounts": [], "summary": {"with_root_credentials": 0}}`)}, "schema_version 3: this rootctl reads schema version 2"},
		{[]string{"audit", "--baseline", baseline("nover.json", `{"organization_id": "o-demo7rootctl", "accounts": []}`)}, "no schema_version, so not a report of rootctl audit -o json: pass the JSON report of an earlier run (rootctl audit -o json > baseline.json)"},
		{[]string{"audit", "--baseline", baseline("lines.ndjson", `{"schema_version":2,"organization_id":"o-demo7rootctl","account_id":"333333333301"}`+"\n"+`{"schema_version":2}`+"\n")}, "not one JSON document (an NDJSON or CSV report?)"},
		{[]string{"audit", "--baseline", baseline("locks.json", `{"schema_version": 2, "organization_id": "o-demo7rootctl", "accounts": [], "summary": {"locked": 0}}`)}, "not an audit report (no accounts and audit summary)"},
		{[]string{"audit", "--fail-on", "new"}, "--fail-on new needs --baseline PREVIOUS.json: new is what the baseline did not have"},
		{[]string{"audit", "--fail-on", "all", "--baseline", otherOrg}, `--fail-on "all": want one of any, new`},
		// preflight.
		{[]string{"preflight", "--task", "admin"}, `--task: unknown task "admin": want one of audit (IAMAuditRootUserCredentials)`},
		{[]string{"preflight", "--task", ""}, `--task: unknown task ""`},
		{[]string{"preflight", "--concurrency", "0"}, "--concurrency 0: want 1 to 1000"},
		{[]string{"preflight", "--rate", "NaN"}, "--rate NaN"},
		{[]string{"preflight", "-o", "csv"}, `--output "csv"`},
		{[]string{"preflight", "--ou", "ou-d3m0-nothere1"}, "--ou ou-d3m0-nothere1: no such OU"},
		{[]string{"preflight", "--tag", "env=prd", "-o", "json"}, "matches the selection (--tag env=prd), so nothing was checked"},
		{[]string{"preflight", "--accounts", "12"}, "want 12 digits"},
		{[]string{"preflight", "999999999999"}, "account 999999999999 is not an account of organization o-demo7rootctl"},
		{[]string{"preflight", "--no-preflight"}, "flag provided but not defined: -no-preflight"},

		// Numbers that are not numbers, and a queue URL that is not https.
		{[]string{"audit", "--rate", "NaN"}, "--rate NaN"},
		{[]string{"audit", "--rate", "Inf", "-o", "json"}, "--rate +Inf"},
		{[]string{"audit", "--rate", "-1", "-o", "ndjson"}, "--rate -1"},
		{[]string{"sim", "serve", "--addr", "127.0.0.1:0", "--throttle", "NaN"}, "--throttle NaN"},
		{[]string{"sim", "serve", "--addr", "127.0.0.1:0", "--throttle", "Inf"}, "--throttle +Inf"},
		{[]string{"sim", "serve", "--addr", "127.0.0.1:0", "--error-rate", "NaN"}, "--error-rate NaN"},
		{[]string{"unlock", "sqs", "--account", "444444444403", "--queue", "http://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders", "--reason", "r", "--yes"}, "want an https:// queue URL"},
	}...) {
		org := demoOrg(t)
		org.OUs = append(org.OUs, fixtures.OU{ID: "ou-d3m0-empty001", Name: "Empty", Parent: org.RootID})
		h := newHarness(t, org, fixtures.Options{})
		before := orgState(t, h)
		code, out, stderr := h.run(tc.args...)
		if code != ExitUsage || out != "" && !strings.HasPrefix(out, "NAME:") || strings.Count(stderr, "\n") > 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, stderr, tc.want)
		}
		for _, c := range h.srv.Calls() {
			if c.Operation == "AssumeRoot" {
				t.Errorf("%q: AssumeRoot was called", tc.args)
			}
		}
		if w := writeCalls(h.srv.Calls()); len(w) != 0 || orgState(t, h) != before {
			t.Errorf("%q: the organization changed (%v)", tc.args, w)
		}
	}
	// Refused, the other file is neither written nor made private.
	if data, _ := os.ReadFile(theirs); len(data) != 0 {
		t.Errorf("a refused --audit-log was written: %q", data)
	}
	if fi, _ := os.Stat(theirs); fi.Mode().Perm() != 0o644 {
		t.Errorf("a refused --audit-log was chmodded to %v", fi.Mode().Perm())
	}
}

// TestBadAWSFlags: --sim with a file that is not there or not a fixture,
// and an --endpoint-url that is no URL, are usage errors before anything
// starts or is sent.
func TestBadAWSFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--sim=/nonexistent/org.json"}, {"--sim=synthetic:-4"}, {"--sim=nosuchorg"},
		{"--profile", "rootctl-test-no-such-profile"},
		{"--endpoint-url", "ht!tp://x"}, {"--endpoint-url", "localhost:4566"}, {"--endpoint-url", "ftp://example.com"},
	} {
		code, out, stderr := runReal(append([]string{"audit"}, args...)...)
		if code != ExitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, strings.SplitN(args[0], "=", 2)[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}
