package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
)

// TestPreflightCostDoesNotGrowWithTheAccounts checks the synthetic
// organization (200 OUs) at two sizes: the requests that read its
// guardrails are the same for 400 accounts and for 2,000, since each
// policy and each target's list is read once, not once per account; and
// s3-unlock is blocked exactly under the two OUs of the RCP.
func TestPreflightCostDoesNotGrowWithTheAccounts(t *testing.T) {
	t.Parallel()
	requests := map[int]int{}
	for _, n := range []int{400, 2000} {
		org := fixtures.Synthetic(n)
		h := newHarness(t, org, fixtures.Options{})
		code, out, stderr := h.run("preflight", "-o", "json")
		if code != ExitFindings {
			t.Fatalf("%d accounts: exit %d: %s", n, code, stderr)
		}
		r := parseJSON[PreflightReport](t, out)
		under := map[string]bool{org.OUs[10].ID: true, org.OUs[11].ID: true} // the RCP's two OUs
		for _, ou := range org.OUs {
			if under[ou.Parent] {
				under[ou.ID] = true
			}
		}
		parent := map[string]string{}
		for _, a := range org.Accounts {
			parent[a.ID] = a.Parent
		}
		for _, a := range r.Accounts {
			want := "ok ok ok ok ok ok"
			switch {
			case a.Status == "skipped":
				continue
			case under[parent[a.ID]]:
				want = "blocked ok ok ok blocked:p-5y7hrcp0001 ok"
			}
			if got := verdicts(PreflightReport{Accounts: []PreflightAccount{a}})[a.ID]; got != want {
				t.Fatalf("%d accounts: %s under %s: %q, want %q", n, a.ID, parent[a.ID], got, want)
			}
		}
		requests[n] = r.Summary.Requests
	}
	// ListRoots; ListPolicies of each type; the targets of the 4 custom
	// policies; the SCPs of the root and of the 10 OUs with an SCP of
	// their own; the documents of 4 SCPs and 1 RCP.
	if requests[400] != 1+2+4+11+5 || requests[2000] != requests[400] {
		t.Fatalf("guardrail requests %v: want 23 at either size", requests)
	}
}

// BenchmarkPreflight10000 checks every task in every account of the
// synthetic organization of 10,000 accounts in 200 OUs, served by
// `rootctl sim serve --accounts 10000 --aws-quotas --latency 20ms` in a
// process of its own. It reports the wall time, the Organizations
// requests that read the guardrails and those of the listing, and the
// machine's load (steal-%, load-1m).
//
//	go test -run XXX -bench 'Preflight10000$' -benchtime 1x ./commands
func BenchmarkPreflight10000(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		sim := startSimProcess(b, "--accounts", strconv.Itoa(n), "--aws-quotas", "--latency", benchLatency.String())
		var out bytes.Buffer
		deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard, Quiet: true},
			LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now)}
		trips := timeRoundTrips(deps)
		cpu := readCPUTimes()
		b.StartTimer()

		begin := time.Now()
		err := PreflightCommand(context.Background(), PreflightInput{Output: "json", Concurrency: 64}, deps)
		took := time.Since(begin)

		b.StopTimer()
		stolen := readCPUTimes().stolenSince(cpu)
		sim.stop()
		if exitCode(err) != ExitFindings {
			b.Fatalf("preflight: %v", err)
		}
		var r PreflightReport
		if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Summary.Accounts != n+1 {
			b.Fatalf("report: %v, %+v", err, r.Summary)
		}
		b.ReportMetric(took.Seconds(), "wall-s")
		b.ReportMetric(float64(r.Summary.Requests), "guardrail-requests")
		b.ReportMetric(float64(trips.calls("organizations")-r.Summary.Requests), "listing-requests")
		b.ReportMetric(float64(r.Summary.Blocked), "blocked-accounts")
		b.ReportMetric(stolen*100, "steal-%")
		b.ReportMetric(loadAverage(), "load-1m")
		b.StartTimer()
	}
}

// BenchmarkAuditQuotas10000 audits the same organization under AWS's
// quotas with and without the pre-flight check, for what the check adds
// to a run.
//
//	go test -run XXX -bench 'AuditQuotas10000' -benchtime 1x ./commands
func BenchmarkAuditQuotas10000(b *testing.B) {
	const n = 10000
	for _, off := range []bool{false, true} {
		name := "preflight"
		if off {
			name = "no-preflight"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				sim := startSimProcess(b, "--accounts", strconv.Itoa(n), "--aws-quotas", "--latency", benchLatency.String())
				deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard, Quiet: true},
					LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now)}
				trips := timeRoundTrips(deps)
				cpu := readCPUTimes()
				b.StartTimer()

				begin := time.Now()
				err := AuditCommand(context.Background(), AuditInput{Output: "ndjson", Concurrency: 64, NoPreflight: off}, deps)
				took := time.Since(begin)

				b.StopTimer()
				stolen := readCPUTimes().stolenSince(cpu)
				sim.stop()
				if exitCode(err) != ExitFindings {
					b.Fatalf("audit: %v", err)
				}
				b.ReportMetric(took.Seconds(), "wall-s")
				b.ReportMetric(float64(trips.calls("organizations")), "organizations-requests")
				b.ReportMetric(stolen*100, "steal-%")
				b.ReportMetric(loadAverage(), "load-1m")
				b.StartTimer()
			}
		})
	}
}
