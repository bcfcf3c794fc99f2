package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgscan"
)

// criticalPath is the number of sequential round trips the audit of one
// account needs, from what the account holds: AssumeRoot, GetAccountSummary,
// then (for a finding) the lists in parallel, then GetAccessKeyLastUsed
// after ListAccessKeys.
func criticalPath(a fixtures.Account) int {
	switch {
	case a.State != fixtures.StateActive:
		return 0
	case len(a.Root.AccessKeys) > 0:
		return 4
	case !a.Root.Empty():
		return 3
	}
	return 2
}

// benchmarkAudit audits a synthetic organization of n members through the
// emulator with latency per request, writing NDJSON (the large-org format).
//
//	go test -run XXX -bench Audit -benchtime 1x ./commands
func benchmarkAudit(b *testing.B, n int, latency time.Duration) {
	org := fixtures.Synthetic(n)
	rounds := 0
	for _, a := range org.Accounts[1:] {
		rounds += criticalPath(a)
	}
	concurrency := orgscan.DefaultConcurrency
	bound := time.Duration(float64(rounds) / float64(concurrency) * float64(latency))

	for b.Loop() {
		b.StopTimer()
		srv := fixtures.New(org, fixtures.Options{Latency: latency})
		if err := srv.Start("127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		h := &harness{srv: srv, creds: srv.ManagementCredentials()}
		var stderr bytes.Buffer
		deps := h.deps(nil, &stderr)
		deps.IO.Out, deps.IO.Quiet = io.Discard, true
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		peak, stop := sampleHeap()
		b.StartTimer()

		begin := time.Now()
		err := AuditCommand(context.Background(), AuditInput{Output: "ndjson", Concurrency: concurrency}, deps)
		took := time.Since(begin)

		b.StopTimer()
		stop()
		if exitCode(err) != ExitFindings {
			b.Fatalf("audit: %v (%s)", err, stderr.String())
		}
		calls := 0
		for _, c := range srv.Calls() {
			if c.Service == "sts" || c.Service == "iam" {
				calls++
			}
		}
		srv.Close()
		b.ReportMetric(float64(n)/took.Seconds(), "accounts/s")
		b.ReportMetric(float64(calls)/float64(n), "calls/account")
		b.ReportMetric(float64(*peak-base.HeapAlloc)/float64(n), "peak-heap-B/account")
		b.ReportMetric(float64(*peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "x-latency-bound")
		b.StartTimer()
	}
}

// sampleHeap records the largest HeapAlloc seen until stop is called.
func sampleHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

func BenchmarkAudit1000(b *testing.B)  { benchmarkAudit(b, 1000, 20*time.Millisecond) }
func BenchmarkAudit10000(b *testing.B) { benchmarkAudit(b, 10000, 20*time.Millisecond) }

func ExampleAuditSummary() {
	fmt.Println(summaryLine(AuditSummary{Accounts: 3, Compliant: 1, WithRootCredentials: 1, Skipped: 1, APICalls: 7}))
	// Output: 3 accounts: 1 compliant, 1 with root credentials, 1 skipped, 0 errors (7 API calls)
}
