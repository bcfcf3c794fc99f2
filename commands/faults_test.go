package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/unlock"
)

// briefs maps each account of a report to its brief.
func briefs(r AuditReport) map[string]string {
	out := map[string]string{}
	for _, a := range r.Accounts {
		out[a.ID] = brief(a)
	}
	return out
}

// stormLimits throttles the management account's STS calls to rate per
// second each, far below what rootctl sends unthrottled (thousands a
// second against the in-process emulator), and each member account's IAM
// calls together to rate per second, burst 2: an account with root
// credentials makes three to six at once.
func stormLimits(rate float64) map[string]fixtures.Limit {
	return map[string]fixtures.Limit{
		"sts:AssumeRoot":        {Rate: rate, Burst: 5},
		"sts:GetCallerIdentity": {Rate: rate, Burst: 5},
		"iam:*":                 {Rate: rate, Burst: 2},
	}
}

// TestAuditUnderAThrottlingStorm audits the same organization fault-free
// and under a throttle on STS and IAM, 10% injected 5xx and random latency:
// the reports must match account for account, and the run must end with
// 3 (root credentials found), never 4, before its deadline.
func TestAuditUnderAThrottlingStorm(t *testing.T) {
	t.Parallel()
	org := fixtures.Synthetic(200)
	clean := newHarness(t, org.Clone(), fixtures.Options{})
	code, out, stderr := clean.run("audit", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("fault-free audit: exit %d: %s", code, stderr)
	}
	want := parseJSON[AuditReport](t, out)

	storm := newHarness(t, org.Clone(), fixtures.Options{
		Limits: stormLimits(100), ErrorRate: 0.1, Jitter: 5 * time.Millisecond, Seed: 42,
	})
	// The bound: a run that retries forever or stalls is cancelled, and
	// fails below with exit 130.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, out, stderr = storm.runCtx(ctx, "audit", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("audit under faults: exit %d, want 3: %s", code, stderr)
	}
	got := parseJSON[AuditReport](t, out)
	if !maps.Equal(briefs(got), briefs(want)) || len(got.Accounts) != len(want.Accounts) {
		for id, b := range briefs(want) {
			if briefs(got)[id] != b {
				t.Errorf("account %s: %q under faults, %q without", id, briefs(got)[id], b)
			}
		}
		t.Fatal("the report under faults differs from the fault-free one")
	}
	gs, ws := got.Summary, want.Summary
	gs.APICalls, ws.APICalls = 0, 0
	gs.Requests, gs.Throttled, gs.Retries, ws.Requests = 0, 0, 0, 0
	if gs != ws {
		t.Fatalf("summary under faults %+v, fault-free %+v", gs, ws)
	}
	// The storm happened: throttled and failed answers, all retried, and
	// the summary counts what it cost, request by request: every answer
	// that was not a success was retried.
	calls := storm.srv.Calls()
	codes, throttledIn := map[string]int{}, map[string]int{}
	for _, c := range calls {
		codes[c.Code]++
		if c.Code == "Throttling" {
			throttledIn[c.Service]++
		}
	}
	if throttledIn["sts"] == 0 || throttledIn["iam"] == 0 || codes["ServiceUnavailable"] == 0 {
		t.Fatalf("answers by error code %v, throttled by service %v: want STS's and IAM's throttling (in the management and the member accounts) and 503s", codes, throttledIn)
	}
	s := got.Summary
	if s.Requests != len(calls) || s.Throttled != codes["Throttling"] || s.Retries != len(calls)-codes[""] {
		t.Fatalf("summary: %d requests, %d throttled, %d retries; the emulator answered %d requests, %v by error code",
			s.Requests, s.Throttled, s.Retries, len(calls), codes)
	}
}

// TestAuditAccountsThatFailInDifferentWays: AssumeRoot denied for one
// account, a session that expires mid-audit for another, and a third
// suspended between the listing and its audit. Each is reported for what
// it is; every other account is audited.
func TestAuditAccountsThatFailInDifferentWays(t *testing.T) {
	t.Parallel()
	var h *harness
	var listed, expired atomic.Bool
	h = newHarness(t, demoOrg(t), fixtures.Options{
		AssumeRootFaults: map[string]string{"222222222202": "AccessDenied"},
		OnCall: func(c fixtures.Call) {
			switch {
			case c.Operation == "ListAccounts" && !listed.Swap(true):
				h.srv.Update(func(o *fixtures.Org) {
					for i := range o.Accounts {
						if o.Accounts[i].ID == "333333333303" {
							o.Accounts[i].State = "SUSPENDED"
						}
					}
				})
			case c.Operation == "AssumeRoot" && c.Code == "" && !expired.Swap(true):
				// The first session issued outlives its 15 minutes before
				// its first IAM call (one account at a time, so it is the
				// only session this affects).
				h.srv.Advance(16 * time.Minute)
			}
		},
	})
	code, out, stderr := h.run("audit", "-o", "json", "--concurrency", "1")
	if code != ExitPartial {
		t.Fatalf("exit %d, want 4: %s", code, stderr)
	}
	r := parseJSON[AuditReport](t, out)
	got := briefs(r)
	if got["222222222202"] != "error: AccessDenied" {
		t.Errorf("denied account: %q", got["222222222202"])
	}
	if got["333333333303"] != "skipped: account is SUSPENDED (changed since the listing)" {
		t.Errorf("account suspended after the listing: %q", got["333333333303"])
	}
	// The account whose session expired (its call answered ExpiredToken
	// carries no account) was audited with a second session: the next
	// IAM call names it.
	var expiredTarget string
	calls := h.srv.Calls()
	for i, c := range calls {
		if c.Code != "ExpiredToken" {
			continue
		}
		for _, next := range calls[i+1:] {
			if next.Service == "iam" && next.Account != "" {
				expiredTarget = next.Account
				break
			}
		}
		break
	}
	if expiredTarget == "" {
		t.Fatal("no session expired mid-audit")
	}
	clean := newHarness(t, demoOrg(t), fixtures.Options{})
	_, cleanOut, _ := clean.run("audit", "-o", "json")
	cleanReport := parseJSON[AuditReport](t, cleanOut)
	for _, a := range r.Accounts {
		i := slices.IndexFunc(cleanReport.Accounts, func(c AccountResult) bool { return c.ID == a.ID })
		if a.ID == expiredTarget && (a.Status == orgrun.StatusError || a.APICalls != cleanReport.Accounts[i].APICalls+2) {
			t.Errorf("account %s whose session expired: %s with %d calls, want audited with %d calls (AssumeRoot and GetAccountSummary twice)",
				a.ID, brief(a), a.APICalls, cleanReport.Accounts[i].APICalls+2)
		}
	}
	// Every other account: as in the fault-free demo audit.
	for id, b := range briefs(cleanReport) {
		if id != "222222222202" && id != "333333333303" && got[id] != b {
			t.Errorf("account %s: %q, fault-free %q", id, got[id], b)
		}
	}
}

// TestAuditCancelledMidRun: Ctrl-C after a few accounts. The JSON report is
// whole and parses, says which accounts were audited and which not, and
// rootctl exits 130. NDJSON lines are whole too.
func TestAuditCancelledMidRun(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "ndjson"} {
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int32
		h := newHarness(t, fixtures.Synthetic(100), fixtures.Options{Latency: time.Millisecond, OnCall: func(c fixtures.Call) {
			if c.Operation == "AssumeRoot" && n.Add(1) == 10 {
				cancel()
			}
		}})
		code, out, stderr := h.runCtx(ctx, "audit", "-o", format, "--concurrency", "4")
		cancel()
		if code != ExitCancelled || !strings.Contains(stderr, "interrupted") {
			t.Fatalf("%s: exit %d, want 130: %s", format, code, stderr)
		}
		var results []AccountResult
		if format == "json" {
			results = parseJSON[AuditReport](t, out).Accounts
		} else {
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				var r AccountResult
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("ndjson line %q: %v", sc.Text(), err)
				}
				results = append(results, r)
			}
		}
		statuses := map[string]int{}
		for _, r := range results {
			statuses[r.Status]++
		}
		if statuses[orgrun.StatusInterrupted] == 0 || statuses[orgrun.StatusCompliant]+statuses[orgrun.StatusRootCredentials] == 0 || statuses[orgrun.StatusError] != 0 {
			t.Fatalf("%s: statuses %v: want audited and cancelled accounts, no errors", format, statuses)
		}
	}
}

// TestUnlockCancelledMidChange: Ctrl-C at the re-read before the backup,
// and at the change itself. Whatever the point, a backup on disk is whole,
// no temporary file is left, every audit log line is whole, and the run
// ends with 130 or, when the change was already made, 0.
func TestUnlockCancelledMidChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op      string
		nth     int32
		backups int
	}{
		{"GetBucketPolicy", 2, 0},    // Apply's re-read: no backup yet, nothing changed
		{"DeleteBucketPolicy", 1, 1}, // the change: backed up first
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int32
		h := newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
			if c.Operation == tc.op && n.Add(1) == tc.nth {
				cancel()
			}
		}})
		code, _, stderr := h.runCtx(ctx, "unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-9", "--yes")
		cancel()
		if code != ExitOK && code != ExitCancelled {
			t.Fatalf("%s: exit %d: %s", tc.op, code, stderr)
		}
		entries, _ := os.ReadDir(filepath.Join(h.state, "backups"))
		if len(entries) != tc.backups {
			t.Fatalf("%s: backups dir holds %v, want %d file(s) and no temporary ones", tc.op, entries, tc.backups)
		}
		for _, e := range entries {
			b, err := unlock.ReadBackup(filepath.Join(h.state, "backups", e.Name()))
			if err != nil || b.Policy == nil || !strings.Contains(*b.Policy, "Deny") {
				t.Fatalf("%s: backup %s: %+v, %v", tc.op, e.Name(), b, err)
			}
		}
		if policy := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts"); (policy == "") != (tc.backups == 1) {
			t.Fatalf("%s: policy now %q", tc.op, policy)
		}
		data, err := os.ReadFile(filepath.Join(h.state, "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("%s: audit log line %q is not whole", tc.op, line)
			}
		}
	}
}

// TestNDJSONStreams: with -o ndjson each account is written as it
// finishes, so nothing holds the whole report: halfway through the run,
// the lines of the accounts done are already out.
func TestNDJSONStreams(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	var assumed atomic.Int32
	var linesAtHalf atomic.Int32
	h := newHarness(t, fixtures.Synthetic(60), fixtures.Options{Hold: func(_ context.Context, c fixtures.Call) {
		if c.Operation == "AssumeRoot" && assumed.Add(1) == 30 {
			// The 30th AssumeRoot is held, and with it the run (one
			// account at a time), until the lines of the accounts before
			// it are written, once their OU names (read at Organizations'
			// pace) are known: a buffered report never writes them.
			for deadline := time.Now().Add(10 * time.Second); strings.Count(out.String(), "\n") < 29 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			linesAtHalf.Store(int32(strings.Count(out.String(), "\n")))
		}
	}})
	var stderr bytes.Buffer
	deps := h.deps(nil, &stderr)
	deps.IO.Out = out
	code := Run(context.Background(), []string{"rootctl", "audit", "-o", "ndjson", "--concurrency", "1"}, deps)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// One account at a time: at the 30th AssumeRoot, the 29 accounts
	// before it (and the skipped ones listed among them) are written.
	if n := linesAtHalf.Load(); n < 29 {
		t.Fatalf("%d lines written by the 30th AssumeRoot, want at least 29: the report is buffered", n)
	}
	if total := strings.Count(out.String(), "\n"); total != 61 {
		t.Fatalf("%d lines in all, want 61 (60 members and the management account)", total)
	}
}
