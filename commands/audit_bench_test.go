package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
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
// emulator with latency per request, writing format (NDJSON is the
// large-org format).
//
//	go test -run XXX -bench Audit -benchtime 1x ./commands
func benchmarkAudit(b *testing.B, n int, latency time.Duration, format string) {
	org := fixtures.Synthetic(n)
	rounds := 0
	for _, a := range org.Accounts[1:] {
		rounds += criticalPath(a)
	}
	concurrency := orgscan.DefaultConcurrency
	bound := time.Duration(float64(rounds) / float64(concurrency) * float64(latency))

	for b.Loop() {
		b.StopTimer()
		srv, deps, stderr := benchEmulator(b, org, fixtures.Options{Latency: latency})
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		peak, stop := sampleHeap()
		b.StartTimer()

		begin := time.Now()
		err := AuditCommand(context.Background(), AuditInput{Output: format, Concurrency: concurrency}, deps)
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

// benchEmulator starts an emulator of org and returns Deps for a quiet run
// against it that discards the report.
func benchEmulator(b *testing.B, org *fixtures.Org, opts fixtures.Options) (*fixtures.Server, *Deps, *bytes.Buffer) {
	srv := fixtures.New(org, opts)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	h := &harness{srv: srv, creds: srv.ManagementCredentials()}
	stderr := new(bytes.Buffer)
	deps := h.deps(nil, stderr)
	deps.IO.Out, deps.IO.Quiet = io.Discard, true
	return srv, deps, stderr
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

func BenchmarkAudit1000(b *testing.B)  { benchmarkAudit(b, 1000, 20*time.Millisecond, "ndjson") }
func BenchmarkAudit10000(b *testing.B) { benchmarkAudit(b, 10000, 20*time.Millisecond, "ndjson") }

// BenchmarkAudit10000JSON is BenchmarkAudit10000 with the one-document
// JSON report, which holds every account until the end: the difference in
// peak heap is what NDJSON's streaming saves.
func BenchmarkAudit10000JSON(b *testing.B) { benchmarkAudit(b, 10000, 20*time.Millisecond, "json") }

// benchmarkAuditThrottled audits n accounts with 20 ms of latency while
// the emulator throttles AssumeRoot to quota requests per second, with
// rootctl's --rate set to rate (0: no client-side limit). It reports the
// throttled answers seen, the retries sent, wall time and peak RSS (of the
// whole process, emulator included: run one benchmark per process).
//
//	go test -run XXX -bench 'AuditThrottled10000' -benchtime 1x ./commands
func benchmarkAuditThrottled(b *testing.B, n int, quota, rate float64) {
	org := fixtures.Synthetic(n)
	for b.Loop() {
		b.StopTimer()
		srv, deps, stderr := benchEmulator(b, org, fixtures.Options{Latency: 20 * time.Millisecond,
			Limits: map[string]fixtures.Limit{"sts:AssumeRoot": {Rate: quota, Burst: int(quota / 10)}}})
		b.StartTimer()

		begin := time.Now()
		err := AuditCommand(context.Background(), AuditInput{Output: "ndjson", Concurrency: orgscan.DefaultConcurrency, Rate: rate}, deps)
		took := time.Since(begin)

		b.StopTimer()
		if exitCode(err) != ExitFindings {
			b.Fatalf("audit: %v (%s)", err, stderr.String())
		}
		throttled := 0
		for _, c := range srv.Calls() {
			if c.Code == "Throttling" {
				throttled++
			}
		}
		srv.Close()
		// Every throttled answer was retried: the run ended with every
		// account audited (exit 3, not 4).
		b.ReportMetric(float64(throttled), "throttled")
		b.ReportMetric(float64(throttled), "retries")
		b.ReportMetric(took.Seconds(), "wall-s")
		b.ReportMetric(float64(n)/took.Seconds(), "accounts/s")
		b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
		b.StartTimer()
	}
}

// peakRSS is the process's peak resident set size (VmHWM), in bytes; 0
// where /proc is not there.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

// Quota 600/s: the figure often quoted for STS per account and region
// (unconfirmed for AssumeRoot). Quota 300/s: the same quota half used by
// other workloads of the account, well below rootctl's natural rate.
// With --rate: about 2.5 requests per account, one of them AssumeRoot, so
// a rate of 2.3 times the AssumeRoot quota keeps AssumeRoot under it.
func BenchmarkAuditThrottled10000Quota600(b *testing.B) { benchmarkAuditThrottled(b, 10000, 600, 0) }
func BenchmarkAuditThrottled10000Quota600Rate1200(b *testing.B) {
	benchmarkAuditThrottled(b, 10000, 600, 1200)
}
func BenchmarkAuditThrottled10000Quota300(b *testing.B) { benchmarkAuditThrottled(b, 10000, 300, 0) }
func BenchmarkAuditThrottled10000Quota300Rate700(b *testing.B) {
	benchmarkAuditThrottled(b, 10000, 300, 700)
}

func ExampleAuditSummary() {
	fmt.Println(summaryLine(AuditSummary{Accounts: 3, Compliant: 1, WithRootCredentials: 1, Skipped: 1, APICalls: 7}))
	// Output: 3 accounts: 1 compliant, 1 with root credentials, 1 skipped, 0 errors (7 API calls)
}
