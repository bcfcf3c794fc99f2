package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// TestAuditAgainstSimServeProcess audits `rootctl sim serve` running in a
// process of its own, as the benchmarks do: every account comes out as the
// synthetic organization has it, and the API calls the report counts are
// the requests that went over the wire.
func TestAuditAgainstSimServeProcess(t *testing.T) {
	t.Parallel()
	const n = 45
	org := fixtures.Synthetic(n)
	sim := startSimProcess(t, "--accounts", "45")
	var out bytes.Buffer
	deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard, Quiet: true},
		LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now)}
	trips := timeRoundTrips(deps)

	err := AuditCommand(context.Background(), AuditInput{Output: "ndjson", Concurrency: 8}, deps)
	if exitCode(err) != ExitFindings {
		t.Fatalf("audit: %v, want exit %d", err, ExitFindings)
	}

	want := map[string]string{}
	audited := 0
	for i, a := range org.Accounts {
		switch {
		case i == 0 || a.State != fixtures.StateActive:
			want[a.ID] = orgrun.StatusSkipped
		case a.Root.Empty():
			want[a.ID] = orgrun.StatusCompliant
		default:
			want[a.ID] = orgrun.StatusRootCredentials
		}
		if want[a.ID] != orgrun.StatusSkipped {
			audited++
		}
	}
	got := map[string]string{}
	reported := 0
	lines := bufio.NewScanner(&out)
	for lines.Scan() {
		var r AccountResult
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		got[r.ID] = r.Status
		reported += r.APICalls
	}
	for id, status := range want {
		if got[id] != status {
			t.Errorf("account %s: %q, want %q", id, got[id], status)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d accounts reported, want %d", len(got), len(want))
	}
	// The report counts each account's requests; the run adds one
	// GetCallerIdentity, for the pre-flight check of the caller's SCPs.
	if sent := trips.calls("sts") + trips.calls("iam"); sent != reported+1 {
		t.Errorf("%d STS and IAM requests sent, the report counts %d (and GetCallerIdentity)", sent, reported)
	}
	if got := trips.calls("sts"); got != audited+1 {
		t.Errorf("%d STS requests, want one AssumeRoot for each of the %d accounts audited, and GetCallerIdentity", got, audited)
	}
	// DescribeOrganization, then 46 accounts in pages of 20 (3); for the
	// OU names, ListRoots and the child OUs of the root and of the 10
	// top-level OUs (12); the pre-flight check's ListRoots, ListPolicies of
	// the SCPs, the targets of the 3 custom SCPs, the SCPs attached to the
	// root and to the 10 top-level OUs (11), and 4 SCP documents (20).
	if got := trips.calls("organizations"); got != 4+12+20 {
		t.Errorf("%d Organizations requests answered, want 36: %v (unanswered: %v)", got, trips.ops, trips.unanswered)
	}
	if trips.mean() <= 0 {
		t.Errorf("mean round trip %v, want it timed", trips.mean())
	}
}
