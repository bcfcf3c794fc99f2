package commands

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/activity"
	"github.com/rootctl/rootctl/fixtures"
)

// TestActivityShowsWhatRootctlDid runs audits and an unlock, then reads
// them back with activity: every AssumeRoot the audit log recorded, with
// the same session key IDs, read over several pages.
func TestActivityShowsWhatRootctlDid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{PageSize: 3, Limits: fixtures.AWSQuotas(), AssumeRootFaults: map[string]string{"222222222202": "AccessDenied"}})
	if code, _, stderr := h.run("audit", "--accounts", "222222222201,222222222202,333333333301,333333333302,333333333303,333333333304", "-o", "json"); code != ExitPartial {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	if code, _, stderr := h.run("unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes"); code != ExitOK {
		t.Fatalf("unlock exit %d: %s", code, stderr)
	}
	h.srv.ResetCalls()
	code, out, stderr := h.run("activity", "-o", "json")
	if code != ExitOK {
		t.Fatalf("activity exit %d: %s", code, stderr)
	}
	r := parseJSON[ActivityReport](t, out)

	var got []string
	for _, e := range r.Events {
		got = append(got, e.Account+" "+e.Task+" "+e.Result)
		if e.Caller != "arn:aws:iam::111111111111:user/rootctl-operator" || e.SourceIP == "" || !strings.Contains(e.UserAgent, "aws-sdk-go-v2") || e.Region != "us-east-1" {
			t.Errorf("event %+v: caller, source IP, user agent or region missing", e)
		}
		if (e.Result == activity.Success) != (e.SessionKeyID != "") {
			t.Errorf("event %+v: a session key exactly when AssumeRoot succeeded", e)
		}
	}
	slices.Sort(got)
	want := []string{
		"222222222201 IAMAuditRootUserCredentials success",
		"222222222202 IAMAuditRootUserCredentials AccessDenied",
		"333333333301 IAMAuditRootUserCredentials success",
		"333333333302 IAMAuditRootUserCredentials success",
		"333333333303 IAMAuditRootUserCredentials success",
		"333333333304 IAMAuditRootUserCredentials success",
		"444444444402 S3UnlockBucketPolicy success",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant %v", got, want)
	}
	// The unlock's session key is the one its audit log entry names.
	var unlockKey string
	for _, e := range auditEntries(t, h) {
		if e.Action == "AssumeRoot" && e.Account == "444444444402" {
			unlockKey = e.SessionKeyID
		}
	}
	if unlockKey == "" || r.Events[0].SessionKeyID != unlockKey {
		t.Fatalf("newest event's session key %q, audit log's %q", r.Events[0].SessionKeyID, unlockKey)
	}
	s := r.Summary
	if s.Events != 7 || s.Failed != 1 || len(s.ByCaller) != 1 || s.ByCaller[0].Calls != 7 || s.ByCaller[0].Accounts != 7 ||
		len(s.ByTask) != 2 || s.ByTask[0] != (activity.Count{Name: "IAMAuditRootUserCredentials", Calls: 6, Failed: 1, Accounts: 6}) {
		t.Fatalf("summary = %+v", s)
	}
	// 7 events at 3 a page: 3 LookupEvents calls, paced at 2 per second.
	// The emulator enforces CloudTrail's quota: no call may be throttled.
	var lookups int
	for _, c := range h.srv.Calls() {
		if c.Operation == "LookupEvents" {
			lookups++
			if c.Code != "" {
				t.Errorf("LookupEvents answered %s", c.Code)
			}
		}
	}
	if lookups != 3 {
		t.Fatalf("%d LookupEvents calls, want 3", lookups)
	}

	// Filters, checked against the same history.
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--task", "s3-unlock"}, 1},
		{[]string{"--task", "IAMAuditRootUserCredentials"}, 6},
		{[]string{"--account", "222222222202"}, 1},
		{[]string{"--account", "555555555501"}, 0},
		{[]string{"--since", "1h"}, 7},
		// CloudTrail keeps each Region's events apart: rootctl called
		// STS in us-east-1, so eu-west-1's history has none of its calls.
		{[]string{"--region", "eu-west-1"}, 0},
	} {
		code, out, stderr := h.run(append([]string{"activity", "-o", "json"}, tc.args...)...)
		if r := parseJSON[ActivityReport](t, out); code != ExitOK || len(r.Events) != tc.want {
			t.Errorf("%v: exit %d, %d events, want %d: %s", tc.args, code, len(r.Events), tc.want, stderr)
		}
	}
	// Two hours later, the last hour holds nothing.
	h.srv.Advance(2 * time.Hour)
	if _, out, _ := h.run("activity", "--since", "1h", "-o", "json"); len(parseJSON[ActivityReport](t, out).Events) != 0 {
		t.Fatalf("--since 1h two hours later: %s", out)
	}

	// CSV: a header and one row per event; the table ends with the summaries.
	_, out, _ = h.run("activity", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 8 || rows[0][0] != "time" || rows[1][2] != "444444444402" {
		t.Fatalf("csv: %v, %v", rows, err)
	}
	_, out, _ = h.run("activity")
	for _, s := range []string{"7 AssumeRoot calls", "AccessDenied", "S3UnlockBucketPolicy", "rootctl-operator", "Accounts"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

func TestActivityBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "91d"}, "90 days"},
		{[]string{"--since", "-2h"}, "not in the past"},
		{[]string{"--since", "soon"}, "want a duration"},
		{[]string{"--since", ""}, "want a duration"},
		{[]string{"--since", "2999-01-01"}, "not in the past"},
		{[]string{"--account", "12345"}, "12 digits"},
		{[]string{"--task", "root-everything"}, "--task"},
		{[]string{"-o", "yaml"}, "--output"},
	} {
		h.srv.ResetCalls()
		code, out, stderr := h.run(append([]string{"activity"}, tc.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || len(h.srv.Calls()) != 0 {
			t.Errorf("%v: exit %d, stderr %q, %d calls; want exit 2, one line with %q, no call", tc.args, code, stderr, len(h.srv.Calls()), tc.want)
		}
	}
}
