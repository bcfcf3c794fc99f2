package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, tc := range []struct {
		args []string
		want string
	}{
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
		{[]string{"delete", "--reason", "r", "--audit-log", filepath.Join(notDir, "audit.log"), "--yes"}, "pass --audit-log FILE"},
		{[]string{"delete", "--reason", "r", "--audit-log", link, "--yes"}, "is a symbolic link, not a regular file: name a regular file, or a new one (pass --audit-log FILE)"},
		{[]string{"delete", "--reason", "r", "--audit-log", dir, "--yes"}, "is a directory, not a regular file"},
		{[]string{"delete", "--reason", "r", "--audit-log", "/dev/null", "--yes"}, "/dev/null is a character device, not a regular file"},
		{[]string{"delete", "--reason", "r", "--audit-log", theirs, "--yes"}, "(mode 0644): make it private with: chmod 600 " + theirs},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--backup-dir", filepath.Join(notDir, "b"), "--yes"}, "pass --backup-dir DIR"},
		{[]string{"recovery", "--yes"}, "--reason is required"},
		{[]string{"recovery", "--reason", "r", "--accounts", "1x2345678901", "--yes"}, "want 12 digits"},
		{[]string{"recovery", "--reason", "r", "-o", "ndjson", "--yes"}, `--output "ndjson"`},
		{[]string{"locks"}, "--reason is required"},
		{[]string{"locks", "--reason", "r", "--ou", "ou-d3m0-nothere1"}, "no such OU"},
		{[]string{"locks", "--reason", "r", "--concurrency", "-3"}, "--concurrency -3"},
		{[]string{"delete", "--reason", "r", "--request-timeout", "0", "--yes"}, "--request-timeout 0s: want a duration above 0 and at most 10m"},
		{[]string{"status", "--request-timeout", "-1s"}, "--request-timeout -1s: want a duration above 0 and at most 10m"},
		{[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--request-timeout", "11m", "--yes"}, "--request-timeout 11m0s: want"},
		{[]string{"locks", "--reason", "r", "--request-timeout", "soon"}, "invalid value \"soon\" for flag -request-timeout"},
		{[]string{"audits"}, `unknown command "audits"`},
		{[]string{"unlock", "s4"}, `unknown command "s4" (run: rootctl unlock --help)`},
		{[]string{"hook", "account-deleted"}, `unknown command "account-deleted"`},
	} {
		h := newHarness(t, demoOrg(t), fixtures.Options{})
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
