package commands

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// rootOf is what the emulator holds for an account's root user now.
func rootOf(t *testing.T, h *harness, id string) fixtures.RootUser {
	t.Helper()
	a, ok := h.srv.Account(id)
	if !ok {
		t.Fatalf("no account %s", id)
	}
	return a.Root
}

// auditEntries reads the run's audit log, and checks that it was written
// ahead (checkWriteAhead).
func auditEntries(t *testing.T, h *harness) []auditlog.Entry {
	t.Helper()
	path := filepath.Join(h.state, "audit.log")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
	entries := readAuditLog(t, path)
	checkWriteAhead(t, entries)
	return entries
}

// readAuditLog parses the audit log at path, checking nothing else.
func readAuditLog(t *testing.T, path string) []auditlog.Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Entry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e auditlog.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// checkWriteAhead fails t unless every call in entries was recorded ahead:
// each outcome follows a started entry of the same run, account, action
// and target with no other outcome of it between, and each started entry
// has its outcome. A credentials entry records no call: it stands alone.
func checkWriteAhead(t *testing.T, entries []auditlog.Entry) {
	t.Helper()
	open := map[string]int{} // a started call → its entry's index
	for i, e := range entries {
		key := strings.Join([]string{e.RunID, e.Account, e.Action, e.Target}, " ")
		switch {
		case e.Action == "credentials":
		case e.Outcome == auditlog.Started:
			if _, ok := open[key]; ok {
				t.Errorf("audit entry %d: %s started again before its outcome", i, key)
			}
			open[key] = i
		default:
			if _, ok := open[key]; !ok {
				t.Errorf("audit entry %d: outcome %q of %s with no started entry before it", i, e.Outcome, key)
			}
			delete(open, key)
		}
	}
	for key, i := range open {
		t.Errorf("audit entry %d: %s started and has no outcome", i, key)
	}
}

// actionsOf lists "account action target outcome" of the outcome entries
// but AssumeRoot's (the started entries are checked by auditEntries).
func actionsOf(entries []auditlog.Entry) []string {
	var out []string
	for _, e := range entries {
		if e.Action != "AssumeRoot" && e.Outcome != auditlog.Started {
			out = append(out, strings.TrimSpace(e.Account+" "+e.Action+" "+e.Target+" "+e.Outcome))
		}
	}
	slices.Sort(out)
	return out
}

func TestDeleteEverythingInOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("delete", "--accounts", "444444444405,222222222201", "--reason", "SEC-42 remove root credentials", "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	if len(r.Accounts) != 2 || r.Accounts[0].Status != orgrun.StatusNothingToDo || r.Accounts[1].Status != orgrun.StatusDone {
		t.Fatalf("accounts: %+v", r.Accounts)
	}
	var got []string
	for _, a := range r.Accounts[1].Actions {
		got = append(got, a.Item.String()+" "+a.Outcome)
	}
	want := []string{ // keys and certificates, then the password, MFA last
		"access_key AKIA3DEMO0DEVEVERY01 deleted",
		"signing_certificate DEMOCERT4444444444050000 deleted",
		"password deleted",
		"mfa_device arn:aws:iam::444444444405:mfa/root-account-mfa-device deleted",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("actions %q\nwant %q", got, want)
	}
	if !rootOf(t, h, "444444444405").Empty() {
		t.Fatalf("root user still holds %+v", rootOf(t, h, "444444444405"))
	}
	// The exact calls in the member account: one session, inspection
	// inside it, the four deletions in order, then the re-listing.
	var calls []string
	for _, c := range h.srv.Calls() {
		if c.Account == "444444444405" {
			calls = append(calls, c.Operation)
			if c.Task != "IAMDeleteRootUserCredentials" {
				t.Errorf("call %s with task %q", c.Operation, c.Task)
			}
		}
	}
	if w := writeCalls(h.srv.Calls()); !slices.Equal(w, []string{"iam:DeleteAccessKey", "iam:DeleteSigningCertificate", "iam:DeleteLoginProfile", "iam:DeactivateMFADevice"}) {
		t.Fatalf("write calls %q", w)
	}
	if n := strings.Count(strings.Join(calls, " "), "ListAccessKeys"); n != 2 {
		t.Fatalf("ListAccessKeys %d times (inspect and verify), calls %q", n, calls)
	}
	if r.Summary.Changes != 4 || r.Summary.Done != 1 || r.Summary.NothingToDo != 1 {
		t.Fatalf("summary %+v", r.Summary)
	}

	// The audit log: one AssumeRoot per account, then each deletion, with
	// the reason and request IDs, and no secret.
	entries := auditEntries(t, h)
	wantLog := []string{
		"444444444405 iam:DeactivateMFADevice arn:aws:iam::444444444405:mfa/root-account-mfa-device success",
		"444444444405 iam:DeleteAccessKey AKIA3DEMO0DEVEVERY01 success",
		"444444444405 iam:DeleteLoginProfile password success",
		"444444444405 iam:DeleteSigningCertificate DEMOCERT4444444444050000 success",
	}
	if got := actionsOf(entries); !slices.Equal(got, wantLog) {
		t.Fatalf("audit log actions %q\nwant %q", got, wantLog)
	}
	assumes := 0
	for _, e := range entries {
		if e.Reason != "SEC-42 remove root credentials" || e.Caller != "arn:aws:iam::111111111111:user/rootctl-operator" || (e.RequestID == "") != (e.Outcome == auditlog.Started) {
			t.Errorf("entry %+v: want the reason, the caller and a request ID (none when started)", e)
		}
		if e.Action == "AssumeRoot" && e.Outcome != auditlog.Started {
			assumes++
		}
	}
	if assumes != 2 {
		t.Fatalf("%d AssumeRoot entries, want 2 (one per account)", assumes)
	}
	if !strings.Contains(stderr, "Audit log: "+filepath.Join(h.state, "audit.log")) {
		t.Fatalf("the log's path is not printed: %s", stderr)
	}

	// A second run finds nothing to delete and succeeds.
	code, out, stderr = h.run("delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes")
	if code != 0 || !strings.Contains(stderr, "Nothing to change") || !strings.Contains(out, "nothing_to_do") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestDeleteKindFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, _, stderr := h.run("delete", "--accounts", "444444444405", "--access-keys", "--certificates", "--reason", "SEC-42", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	root := rootOf(t, h, "444444444405")
	if len(root.AccessKeys) != 0 || len(root.SigningCertificates) != 0 || root.Password == nil || len(root.MFADevices) != 1 {
		t.Fatalf("root user after --access-keys --certificates: %+v", root)
	}
}

func TestDeletePlanAndConfirmation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		tty       bool
		stdin     string
		wantCode  int
		wantOut   string
		wantWrite bool
	}{
		{"dry run shows the plan and changes nothing", []string{"--dry-run"}, false, "", 0, "delete the root password", false},
		{"no --yes and no terminal: refused", nil, false, "", ExitUsage, "", false},
		{"typing the count of accounts on a terminal confirms", nil, true, "1\n", 0, "deleted", true},
		{"typing the command's name changes nothing", nil, true, "delete\n", ExitFailure, "", false},
		{"typing yes changes nothing", nil, true, "yes\n", ExitFailure, "", false},
		{"--yes", []string{"--yes"}, false, "", 0, "deleted", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			h.tty, h.stdin = tt.tty, tt.stdin
			code, out, stderr := h.run(append([]string{"delete", "--accounts", "333333333301", "--reason", "SEC-42"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.wantCode, out, stderr)
			}
			if tt.wantCode == ExitUsage {
				// Refused before anything is asked of AWS: no plan, no session.
				if out != "" || len(h.srv.Calls()) != 0 {
					t.Fatalf("stdout %q, %d calls; want neither", out, len(h.srv.Calls()))
				}
				return
			}
			if !strings.Contains(out, "Plan (delete, task policy IAMDeleteRootUserCredentials)") || !strings.Contains(out, "333333333301") {
				t.Fatalf("no plan in output:\n%s", out)
			}
			if tt.wantOut != "" && !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if asked := strings.HasPrefix(stderr, "Type 1 to delete 1 credential in 1 account: "); asked != tt.tty {
				t.Fatalf("the question on a terminal (%v) names what will happen and asks for the count; stderr:\n%s", tt.tty, stderr)
			}
			wrote := len(writeCalls(h.srv.Calls())) > 0
			if wrote != tt.wantWrite || (rootOf(t, h, "333333333301").Password == nil) != tt.wantWrite {
				t.Fatalf("write calls %q, want writes: %v", writeCalls(h.srv.Calls()), tt.wantWrite)
			}
		})
	}
}

func TestDeleteReassumesBeforeExpiry(t *testing.T) {
	t.Parallel()
	var once sync.Once
	var h *harness
	h = newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
		// The inspection has just finished: 14 minutes pass (a slow
		// confirmation, a throttled run) before the first deletion.
		if c.Operation == "ListSigningCertificates" && c.Account == "444444444405" {
			once.Do(func() { h.srv.Advance(14 * time.Minute) })
		}
	}})
	code, _, stderr := h.run("delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !rootOf(t, h, "444444444405").Empty() {
		t.Fatal("credentials left")
	}
	assumes := 0
	for _, c := range h.srv.Calls() {
		if c.Code != "" && c.Code != "NoSuchEntity" { // no password left: GetLoginProfile's answer
			t.Errorf("call %s failed with %s", c.Operation, c.Code)
		}
		if c.Operation == "AssumeRoot" {
			assumes++
		}
	}
	if assumes != 2 {
		t.Fatalf("%d AssumeRoot calls, want 2: the session was renewed before it expired", assumes)
	}
}

func TestDeleteCancelledMidRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
		if c.Operation == "DeleteSigningCertificate" {
			cancel() // Ctrl-C while the certificate's deletion is in flight
		}
	}})
	code, out, stderr := h.runCtx(ctx, "delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes", "-o", "json")
	if code != ExitCancelled {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	var got []string
	for _, a := range r.Accounts[0].Actions {
		got = append(got, a.Kind+" "+a.Outcome)
	}
	want := []string{"access_key deleted", "signing_certificate deleted", "password not_done", "mfa_device not_done"}
	if !slices.Equal(got, want) || r.Accounts[0].Status != orgrun.StatusInterrupted {
		t.Fatalf("status %s, actions %q, want %q", r.Accounts[0].Status, got, want)
	}
	root := rootOf(t, h, "444444444405")
	if len(root.AccessKeys) != 0 || len(root.SigningCertificates) != 0 || root.Password == nil || len(root.MFADevices) != 1 {
		t.Fatalf("emulator state does not match the report: %+v", root)
	}
	if got := actionsOf(auditEntries(t, h)); len(got) != 2 {
		t.Fatalf("audit log has %q, want the two deletions that happened", got)
	}
}

func TestRecovery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("recovery", "--accounts", "222222222201,333333333301", "--reason", "SEC-77 owner lost access", "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	got := map[string]string{}
	for _, a := range r.Accounts {
		got[a.ID] = a.Status + ": " + a.Reason
	}
	if got["222222222201"] != "done: " || got["333333333301"] != "nothing_to_do: the root user already has a password" {
		t.Fatalf("statuses %q", got)
	}
	if rootOf(t, h, "222222222201").Password == nil {
		t.Fatal("no login profile created")
	}
	if w := writeCalls(h.srv.Calls()); !slices.Equal(w, []string{"iam:CreateLoginProfile"}) {
		t.Fatalf("write calls %q", w)
	}
	for _, c := range h.srv.Calls() {
		if c.Operation == "AssumeRoot" || c.Account == "222222222201" {
			continue
		}
		if c.Task != "" && c.Task != "IAMCreateRootUserPassword" {
			t.Errorf("%s made with task %s", c.Operation, c.Task)
		}
	}
}

func TestRootCommandsNeedAReason(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"delete", "--accounts", "333333333301", "--yes"},
		{"delete", "--accounts", "333333333301", "--yes", "--reason", "  "},
		{"delete", "--accounts", "333333333301", "--yes", "--reason", strings.Repeat("x", 600)},
		{"delete", "--accounts", "333333333301", "--yes", "--reason", "two\nlines"},
		{"recovery", "--accounts", "222222222201", "--yes"},
		{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--yes"},
		{"locks"},
		{"credentials", "--account", "444444444402", "--task", "audit"},
		{"exec", "--account", "444444444402", "--task", "audit", "--", "true"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, _, stderr := h.run(args...)
			if code != ExitUsage || !strings.Contains(stderr, "--reason") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q: want exit 2 and one line about --reason", code, stderr)
			}
			if calls := h.srv.Calls(); len(calls) != 0 {
				t.Fatalf("calls made: %+v", calls)
			}
		})
	}
}

func TestReasonFromEnvironment(t *testing.T) {
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	t.Setenv("ROOTCTL_REASON", "SEC-9 from the environment")
	code, _, stderr := h.run("delete", "--accounts", "333333333301", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if e := auditEntries(t, h); len(e) == 0 || e[0].Reason != "SEC-9 from the environment" {
		t.Fatalf("entries %+v", e)
	}
}

func TestAuditLogFlag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	path := filepath.Join(t.TempDir(), "logs", "root-actions.log")
	code, _, stderr := h.run("delete", "--accounts", "333333333301", "--reason", "SEC-42", "--yes", "--audit-log", path)
	if code != 0 || !strings.Contains(stderr, "Audit log: "+path) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || strings.Count(string(data), "\n") != 4 { // AssumeRoot, DeleteLoginProfile: each started, then success
		t.Fatalf("log %q: %v", data, err)
	}
	if entries := auditEntries(t, h); entries != nil {
		t.Fatalf("the default log was written too: %+v", entries)
	}
}
