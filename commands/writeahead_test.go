package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// auditPath is the harness's default audit log.
func (h *harness) auditPath() string { return filepath.Join(h.state, "audit.log") }

// fullDisk is an audit log file whose writes fail with ENOSPC when fail
// says so of the line's entry, and write through otherwise.
type fullDisk struct {
	*os.File
	mu   sync.Mutex
	fail func(auditlog.Entry) bool
}

func (d *fullDisk) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var e auditlog.Entry
	if json.Unmarshal(p, &e) == nil && d.fail(e) {
		return 0, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	return d.File.Write(p)
}

// at fills the disk at the entry of action with outcome: that write and
// every one after it fail.
func at(action, outcome string) func(auditlog.Entry) bool {
	filled := false
	return func(e auditlog.Entry) bool {
		filled = filled || e.Action == action && e.Outcome == outcome
		return filled
	}
}

// once fails only the write of the entry of action with outcome, as a
// passing error would; the writes after it succeed.
func once(action, outcome string) func(auditlog.Entry) bool {
	failed := false
	return func(e auditlog.Entry) bool {
		if !failed && e.Action == action && e.Outcome == outcome {
			failed = true
			return true
		}
		return false
	}
}

// runFullDisk runs rootctl with an audit log whose writes fail when full
// says so (nil: /dev/full, full from the start).
func (h *harness) runFullDisk(full func(auditlog.Entry) bool, args ...string) (int, string, string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	deps := h.deps(&out, &errOut)
	deps.auditFile = func(f *os.File) auditlog.File {
		if full != nil {
			return &fullDisk{File: f, fail: full}
		}
		f.Close()
		dev, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			h.t.Fatal(err)
		}
		return dev
	}
	code := Run(context.Background(), append([]string{"rootctl"}, args...), deps)
	return code, out.String(), errOut.String()
}

// TestEveryCallIsOnDiskBeforeAWSReceivesIt reads the audit log from disk at
// the moment the emulator receives each AssumeRoot and each change, before
// it acts: the call's started entry must be there, and be the last entry of
// that call, naming the session that makes it.
func TestEveryCallIsOnDiskBeforeAWSReceivesIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		checked []string // the calls looked at, in order
	}{
		{"delete", []string{"delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes"},
			[]string{"sts:AssumeRoot", "iam:DeleteAccessKey", "iam:DeleteSigningCertificate", "iam:DeleteLoginProfile", "iam:DeactivateMFADevice"}},
		{"recovery", []string{"recovery", "--accounts", "222222222201", "--reason", "SEC-77", "--yes"},
			[]string{"sts:AssumeRoot", "iam:CreateLoginProfile"}},
		{"unlock s3", []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes"},
			[]string{"sts:AssumeRoot", "s3:DeleteBucketPolicy"}},
		{"unlock sqs", []string{"unlock", "sqs", "--account", "444444444403", "--queue", "dev-events-orders", "--reason", "INC-8", "--yes"},
			[]string{"sts:AssumeRoot", "sqs:SetQueueAttributes"}},
		{"credentials", []string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7"},
			[]string{"sts:AssumeRoot"}},
		{"account create", []string{"account", "create", "--name", "sandbox-42", "--email", "aws+sandbox-42@example.com", "--ou", "ou-d3m0-dev00001"},
			[]string{"organizations:CreateAccount", "organizations:MoveAccount", "sts:AssumeRoot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			var mu sync.Mutex
			var checked []string
			h = newHarness(t, demoOrg(t), fixtures.Options{Hold: func(_ context.Context, c fixtures.Call) {
				call := c.Service + ":" + c.Operation
				if len(writeCalls([]fixtures.Call{c})) == 0 && call != "sts:AssumeRoot" {
					return
				}
				mu.Lock()
				checked = append(checked, call)
				mu.Unlock()
				action := call
				if call == "sts:AssumeRoot" {
					action = "AssumeRoot"
				}
				var last *auditlog.Entry
				for _, e := range readAuditLog(t, h.auditPath()) {
					if e.Action == action && (c.Task == "" || e.Account == c.Account) {
						last = &e
					}
				}
				switch {
				case last == nil:
					t.Errorf("%s received with no entry of it in the log", call)
				case last.Outcome != auditlog.Started:
					t.Errorf("%s received while its last entry is %q, want started", call, last.Outcome)
				case c.Task != "" && (last.SessionKeyID == "" || last.Task != c.Task):
					t.Errorf("%s received, started entry %+v: want the session's key and task %s", call, *last, c.Task)
				}
			}})
			code, _, stderr := h.run(tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(checked, tt.checked) {
				t.Fatalf("looked at %q, want %q", checked, tt.checked)
			}
			auditEntries(t, h) // and every outcome follows its started entry
		})
	}
}

func TestDeleteLogsEachChangeStartedThenItsOutcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, _, stderr := h.run("delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []string
	var keys []string
	for _, e := range auditEntries(t, h) {
		got = append(got, e.Action+" "+e.Target+" "+e.Outcome)
		keys = append(keys, e.SessionKeyID)
	}
	const mfa = "arn:aws:iam::444444444405:mfa/root-account-mfa-device"
	want := []string{
		"AssumeRoot arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials started",
		"AssumeRoot arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials success",
		"iam:DeleteAccessKey AKIA3DEMO0DEVEVERY01 started",
		"iam:DeleteAccessKey AKIA3DEMO0DEVEVERY01 success",
		"iam:DeleteSigningCertificate DEMOCERT4444444444050000 started",
		"iam:DeleteSigningCertificate DEMOCERT4444444444050000 success",
		"iam:DeleteLoginProfile password started",
		"iam:DeleteLoginProfile password success",
		"iam:DeactivateMFADevice " + mfa + " started",
		"iam:DeactivateMFADevice " + mfa + " success",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit log\n%q\nwant\n%q", got, want)
	}
	// The session is named from AssumeRoot's outcome on, before each change.
	if keys[0] != "" || keys[1] == "" || slices.ContainsFunc(keys[1:], func(k string) bool { return k != keys[1] }) {
		t.Fatalf("session key IDs %q: want none before AssumeRoot answers, then the session's on every entry", keys)
	}
}

// TestAFullDiskStartsNothing fills the audit log's disk at each entry a
// root command writes: the call that entry records, and everything after
// it, is not made; no session reaches stdout or a command; the run ends
// with exit 1 naming the log.
func TestAFullDiskStartsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		full func(auditlog.Entry) bool // nil: /dev/full
		// calls are the calls made but GetCallerIdentity, the
		// organization's listing and the IAM reads of an inspection.
		calls []string
		err   string
		// report, when set, checks stdout.
		report func(t *testing.T, out string)
	}{
		{"credentials, the disk full from the start: AssumeRoot is not called",
			[]string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7"}, nil,
			nil, "AssumeRoot IAMAuditRootUserCredentials not called, as its record could not be written: writing the audit log ", nil},
		{"credentials, AssumeRoot's outcome not written: the session is not printed",
			[]string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--format", "json"}, at("AssumeRoot", auditlog.Success),
			[]string{"sts:AssumeRoot"}, "the root session AssumeRoot IAMAuditRootUserCredentials issued is not used, as its record could not be written: writing the audit log ", nil},
		{"credentials, its hand-out not written: the session is not printed",
			[]string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--format", "process"}, at("credentials", auditlog.Success),
			[]string{"sts:AssumeRoot"}, "the session's credentials are not printed, as the audit log could not record them: writing the audit log ", nil},
		{"exec, AssumeRoot not recorded: the command does not run",
			[]string{"exec", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--", "touch", "MARKER"}, at("AssumeRoot", auditlog.Started),
			nil, "AssumeRoot IAMAuditRootUserCredentials not called, as its record could not be written: writing the audit log ", nil},
		{"exec, the command's start not recorded: it does not run",
			[]string{"exec", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--", "touch", "MARKER"}, at("exec", auditlog.Started),
			[]string{"sts:AssumeRoot"}, "touch was not run, as the audit log could not record it: writing the audit log ", nil},
		{"delete, the first deletion not recorded: no deletion in any account",
			[]string{"delete", "--accounts", "333333333304,444444444405", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes", "--concurrency", "1", "-o", "json"}, at("iam:DeleteAccessKey", auditlog.Started),
			[]string{"sts:AssumeRoot", "sts:AssumeRoot"},
			"the audit log could not be written, so no further change was started: writing the audit log ",
			func(t *testing.T, out string) {
				r := parseJSON[JobReport](t, out)
				for _, a := range r.Accounts {
					if a.Status != orgrun.StatusFailed || !strings.HasPrefix(a.Error, "the items marked not_done were not changed, as the audit log could not be written: writing the audit log ") {
						t.Errorf("account %s: %s %q", a.ID, a.Status, a.Error)
					}
					for _, act := range a.Actions {
						if act.Outcome != "not_done" {
							t.Errorf("account %s: %s %s", a.ID, act.Item, act.Outcome)
						}
					}
				}
				if len(r.Accounts) != 2 || r.Summary.Changes != 0 {
					t.Errorf("report %+v", r)
				}
			}},
		{"delete, a deletion's outcome not recorded: nothing after it starts",
			[]string{"delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes"}, at("iam:DeleteAccessKey", auditlog.Success),
			[]string{"sts:AssumeRoot", "iam:DeleteAccessKey"},
			"the audit log could not be written, so no further change was started: writing the audit log ", nil},
		{"delete, a deletion's outcome lost to a passing write error: nothing after it starts, though the log works again",
			[]string{"delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes"}, once("iam:DeleteAccessKey", auditlog.Success),
			[]string{"sts:AssumeRoot", "iam:DeleteAccessKey"},
			"the audit log could not be written, so no further change was started: writing the audit log ", nil},
		{"delete, AssumeRoot not recorded: nothing is read or changed",
			[]string{"delete", "--accounts", "444444444405", "--reason", "SEC-42", "--yes"}, at("AssumeRoot", auditlog.Started),
			nil, "the audit log could not be written, so no further change was started: writing the audit log ", nil},
		{"recovery, the creation not recorded: no login profile is created",
			[]string{"recovery", "--accounts", "222222222201", "--reason", "SEC-77", "--yes"}, at("iam:CreateLoginProfile", auditlog.Started),
			[]string{"sts:AssumeRoot"}, "the audit log could not be written, so no further change was started: writing the audit log ", nil},
		{"unlock, the change not recorded: the policy is backed up and left as it is",
			[]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes"}, at("s3:DeleteBucketPolicy", auditlog.Started),
			[]string{"sts:AssumeRoot", "s3:ListBuckets", "s3:GetBucketPolicy", "s3:GetBucketPolicy"},
			"unlocking bucket dev-tools-artifacts (us-east-1): not sent, as its record could not be written: writing the audit log ", nil},
		{"unlock, AssumeRoot's outcome not recorded: the session is not used",
			[]string{"unlock", "sqs", "--account", "444444444403", "--queue", "dev-events-orders", "--reason", "INC-8", "--yes"}, at("AssumeRoot", auditlog.Success),
			[]string{"sts:AssumeRoot"}, "the root session AssumeRoot SQSUnlockQueuePolicy issued is not used, as its record could not be written: writing the audit log ", nil},
		{"account create, the request not recorded: no account is created",
			[]string{"account", "create", "--name", "sandbox-42", "--email", "aws+sandbox-42@example.com"}, at("organizations:CreateAccount", auditlog.Started),
			nil, "no account was created, as the audit log could not record the request: writing the audit log ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.full == nil {
				if _, err := os.Stat("/dev/full"); err != nil {
					t.Skip("no /dev/full:", err)
				}
			}
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			marker := filepath.Join(t.TempDir(), "ran")
			args := slices.Clone(tt.args)
			if i := slices.Index(args, "MARKER"); i >= 0 {
				args[i] = marker
			}
			before := orgState(t, h)
			code, out, stderr := h.runFullDisk(tt.full, args...)
			if code != ExitFailure || !strings.Contains(stderr, tt.err) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, stderr, tt.err)
			}
			if strings.Contains(out, "ASIA") || strings.Contains(out, "AWS_SECRET") {
				t.Fatalf("a session reached stdout: %q", out)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Fatal("exec ran its command")
			}
			var got []string
			for _, c := range callsOf(h.srv.Calls()) {
				if strings.HasPrefix(c, "iam:List") || strings.HasPrefix(c, "iam:Get") {
					continue
				}
				switch c {
				case "sts:GetCallerIdentity", "organizations:DescribeOrganization", "organizations:ListRoots", "organizations:ListAccounts",
					"organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent", "organizations:ListParents",
					"organizations:ListTagsForResource", "organizations:DescribeAccount", "organizations:ListPoliciesForTarget",
					"organizations:DescribePolicy", "organizations:ListPolicies", "organizations:ListTargetsForPolicy":
					continue
				}
				got = append(got, c)
			}
			if !slices.Equal(got, tt.calls) {
				t.Fatalf("calls %q\nwant %q", got, tt.calls)
			}
			if tt.report != nil {
				tt.report(t, out)
			}
			if len(writeCalls(h.srv.Calls())) == 0 && orgState(t, h) != before {
				t.Fatal("the organization changed with no change call")
			}
		})
	}
}

// TestACallRefusedAsExpiredIsRecordedBeforeItIsSentAgain: rootctl's clock
// is behind AWS's, so a change is sent with a session AWS holds expired.
// AWS answers ExpiredToken, rootctl assumes a new session and sends the
// change again. The log shows both sends, each started and then ended,
// each naming its own session.
func TestACallRefusedAsExpiredIsRecordedBeforeItIsSentAgain(t *testing.T) {
	t.Parallel()
	const expired = "failed ExpiredToken: The security token included in the request is expired"
	const s3Expired = "failed ExpiredToken: The provided token has expired." // S3's own wording
	tests := []struct {
		name  string
		args  []string
		after string // AWS's clock leaps once this call was answered this many times
		times int
		want  []string
	}{
		{"delete", []string{"delete", "--accounts", "444444444405", "--access-keys", "--certificates"}, "DeleteAccessKey", 1, []string{
			"AssumeRoot started ", "AssumeRoot success ",
			"iam:DeleteAccessKey started ", "iam:DeleteAccessKey success ",
			"iam:DeleteSigningCertificate started ", "iam:DeleteSigningCertificate " + expired,
			"AssumeRoot started ", "AssumeRoot success ",
			"iam:DeleteSigningCertificate started ", "iam:DeleteSigningCertificate success ",
		}},
		{"unlock", []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts"}, "GetBucketPolicy", 2, []string{
			"AssumeRoot started ", "AssumeRoot success ",
			"s3:DeleteBucketPolicy started ", "s3:DeleteBucketPolicy " + s3Expired,
			"AssumeRoot started ", "AssumeRoot success ",
			"s3:DeleteBucketPolicy started ", "s3:DeleteBucketPolicy success ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			var mu sync.Mutex
			answered := 0
			h = newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
				mu.Lock()
				defer mu.Unlock()
				if c.Operation == tt.after {
					if answered++; answered == tt.times {
						h.srv.Advance(16 * time.Minute) // AWS's clock leaps; rootctl's does not
					}
				}
			}})
			var out, errOut bytes.Buffer
			deps := h.deps(&out, &errOut)
			deps.LoadAWS = loadStatic(h.srv.URL(), h.creds, time.Now)
			code := Run(context.Background(), append(append([]string{"rootctl"}, tt.args...), "--reason", "SEC-42", "--yes"), deps)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var got, keys []string
			for _, e := range auditEntries(t, h) {
				got = append(got, e.Action+" "+e.Outcome+" "+e.Error)
				keys = append(keys, e.SessionKeyID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("audit log\n%q\nwant\n%q", got, tt.want)
			}
			n := len(keys)
			first, second := keys[1], keys[n-3]
			if first == second || keys[n-6] != first || keys[n-5] != first || keys[n-2] != second || keys[n-1] != second {
				t.Fatalf("session key IDs %q: want the first session's on the refused send, the second's on the one sent again", keys)
			}
		})
	}
}
