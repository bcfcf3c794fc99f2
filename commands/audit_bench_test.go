package commands

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
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

// benchLatency is the emulator's latency per request in the audit
// benchmarks.
const benchLatency = 20 * time.Millisecond

// auditBounds are the shortest times an audit of org could take at
// concurrency with benchLatency per request. audit is the issue's latency
// bound: the round trips on the accounts' critical paths, concurrency at a
// time. listing is ListAccounts': DescribeOrganization, then one page of
// 20 after another, each needing the last one's NextToken.
func auditBounds(org *fixtures.Org, concurrency int) (audit, listing time.Duration) {
	rounds := 0
	for _, a := range org.Accounts[1:] {
		rounds += criticalPath(a)
	}
	pages := (len(org.Accounts) + 19) / 20
	return time.Duration(float64(rounds) / float64(concurrency) * float64(benchLatency)),
		time.Duration(1+pages) * benchLatency
}

// benchmarkAuditSizes runs benchmarkAudit for n accounts at 32 accounts in
// flight, where the audit is the bound, and at the default 64, where the
// emulator's listing is: 20 accounts per 20 ms page is 1,000 accounts/s,
// which 32 slots (some 670 accounts/s at 2.4 round trips of 20 ms) never
// catch up with and 64 (some 1,330 accounts/s) outrun.
func benchmarkAuditSizes(b *testing.B, n int) {
	for _, concurrency := range []int{32, orgrun.DefaultConcurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			benchmarkAudit(b, n, concurrency, "ndjson")
		})
	}
}

// benchmarkAudit audits a synthetic organization of n members through the
// emulator with benchLatency per request, writing format (NDJSON is the
// large-org format). Besides speed and memory it reports the time taken
// over the latency bound (x-latency-bound), over the larger of that and
// the listing bound (x-listing-or-latency-bound), and the mean round trip
// rootctl saw (round-trip-ms), which shows how much the machine added to
// the emulator's 20 ms.
//
// The emulator runs in a process of its own, as AWS does. Sharing one Go
// scheduler with rootctl on two cores, its 20 ms waits came out 24 ms on
// average (21.3 ms with GOMAXPROCS=4: their timers waited for a free P),
// which charged rootctl for the emulator's lateness; apart, rootctl sees
// round trips of about 22 ms. Peak heap is so rootctl's alone.
//
//	go test -run XXX -bench 'Audit(1000|10000)$' -benchtime 1x ./commands
func benchmarkAudit(b *testing.B, n, concurrency int, format string) {
	bound, listing := auditBounds(fixtures.Synthetic(n), concurrency)

	for b.Loop() {
		b.StopTimer()
		sim := startSimProcess(b, "--accounts", strconv.Itoa(n), "--latency", benchLatency.String())
		deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard, Quiet: true},
			LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now)}
		trips := timeRoundTrips(deps)
		runtime.GC()
		base := heapBytes()
		peak, stop := sampleHeap()
		cpu := readCPUTimes()
		b.StartTimer()

		begin := time.Now()
		err := AuditCommand(context.Background(), AuditInput{Output: format, Concurrency: concurrency}, deps)
		took := time.Since(begin)

		b.StopTimer()
		stolen := readCPUTimes().stolenSince(cpu)
		stop()
		sim.stop()
		if exitCode(err) != ExitFindings {
			b.Fatalf("audit: %v", err)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "accounts/s")
		b.ReportMetric(float64(trips.calls("sts")+trips.calls("iam"))/float64(n), "calls/account")
		b.ReportMetric(float64(*peak-base)/float64(n), "peak-heap-B/account")
		b.ReportMetric(float64(*peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "x-latency-bound")
		b.ReportMetric(took.Seconds()/max(bound, listing).Seconds(), "x-listing-or-latency-bound")
		b.ReportMetric(float64(trips.mean().Microseconds())/1000, "round-trip-ms")
		b.ReportMetric(stolen*100, "steal-%")
		b.StartTimer()
	}
}

// cpuTimes are the machine's CPU times from /proc/stat, in clock ticks.
type cpuTimes struct{ total, steal uint64 }

// readCPUTimes reads the machine's CPU times; zero where /proc/stat is not
// there.
func readCPUTimes() cpuTimes {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return parseCPUTimes(line)
}

// parseCPUTimes reads the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal guest guest_nice (guest time is already counted
// in user and nice).
func parseCPUTimes(line string) cpuTimes {
	var t cpuTimes
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return t
	}
	for i, f := range fields[1:9] {
		v, _ := strconv.ParseUint(f, 10, 64)
		t.total += v
		if i == 7 {
			t.steal = v
		}
	}
	return t
}

// stolenSince is the share of the machine's CPU time since before that
// the hypervisor gave to other guests (the "st" of top and vmstat): time
// this virtual machine wanted to run and could not. It slows everything,
// the benchmarks included.
func (t cpuTimes) stolenSince(before cpuTimes) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.steal-before.steal) / float64(t.total-before.total)
}

// simProcess is `rootctl sim serve`, run by the test binary standing in for
// rootctl (see TestMain).
type simProcess struct {
	cmd      *exec.Cmd
	endpoint string
	creds    fixtures.Credentials
}

// startSimProcess starts `rootctl sim serve` with args on a free loopback port
// and reads where it listens and its management credentials from the
// lines it prints.
func startSimProcess(tb testing.TB, args ...string) *simProcess {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"sim", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "ROOTCTL_TEST_AS_ROOTCTL=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sim := &simProcess{cmd: cmd}
	tb.Cleanup(sim.stop)
	lines := bufio.NewScanner(out)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "# Serving") {
		name, value, _ := strings.Cut(strings.TrimPrefix(lines.Text(), "export "), "=")
		switch name {
		case "AWS_ENDPOINT_URL":
			sim.endpoint = value
		case "AWS_ACCESS_KEY_ID":
			sim.creds.AccessKeyID = value
		case "AWS_SECRET_ACCESS_KEY":
			sim.creds.SecretAccessKey = value
		}
	}
	if sim.endpoint == "" || sim.creds.AccessKeyID == "" {
		tb.Fatalf("rootctl sim serve %s did not say where it serves (%v)", strings.Join(args, " "), lines.Err())
	}
	go io.Copy(io.Discard, out)
	return sim
}

// stop ends the simulator; stopping twice is harmless.
func (s *simProcess) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// roundTrips times every HTTP round trip of a run, as rootctl sees it, and
// counts them by service.
type roundTrips struct {
	next aws.HTTPClient

	mu        sync.Mutex
	n         int
	total     time.Duration
	byService map[string]int
	ops       []string // X-Amz-Target and status of the answered JSON-protocol requests
	// unanswered are the attempts that got no answer, with their errors.
	unanswered []string
}

// timeRoundTrips makes deps' runs send their requests through a new
// roundTrips.
func timeRoundTrips(deps *Deps) *roundTrips {
	rt := &roundTrips{byService: map[string]int{}}
	load := deps.LoadAWS
	deps.LoadAWS = func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
		env, err := load(ctx, opts, io)
		if err == nil {
			rt.next, env.AWS.HTTPClient = env.AWS.HTTPClient, rt
		}
		return env, err
	}
	return rt
}

// Do sends r and times the round trip. The service is the one in the
// request's SigV4 credential scope (Credential=KEY/DATE/REGION/SERVICE/...).
func (rt *roundTrips) Do(r *http.Request) (*http.Response, error) {
	_, scope, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	service := ""
	if parts := strings.SplitN(scope, "/", 5); len(parts) == 5 {
		service = parts[3]
	}
	begin := time.Now()
	resp, err := rt.next.Do(r)
	took := time.Since(begin)
	rt.mu.Lock()
	rt.n++
	rt.total += took
	if err != nil {
		// Not answered (a connection closed under load, say): the SDK
		// sends it again, and only the answered attempt is counted.
		rt.unanswered = append(rt.unanswered, service+": "+err.Error())
	} else {
		rt.byService[service]++
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			rt.ops = append(rt.ops, target+" "+resp.Status)
		}
	}
	rt.mu.Unlock()
	return resp, err
}

func (rt *roundTrips) mean() time.Duration {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.n == 0 {
		return 0
	}
	return rt.total / time.Duration(rt.n)
}

// calls counts the requests sent to service (sts, iam, organizations).
func (rt *roundTrips) calls(service string) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.byService[service]
}

// heapBytes is the heap's live and not yet swept objects (HeapAlloc), read
// without stopping the world as runtime.ReadMemStats would.
func heapBytes() uint64 {
	m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// sampleHeap records the largest heapBytes seen until stop is called.
func sampleHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapBytes())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

func BenchmarkAudit1000(b *testing.B)  { benchmarkAuditSizes(b, 1000) }
func BenchmarkAudit10000(b *testing.B) { benchmarkAuditSizes(b, 10000) }

// BenchmarkAudit10000JSON is BenchmarkAudit10000 with the one-document
// JSON report, which holds every account until the end: the difference in
// peak heap is what NDJSON's streaming saves.
func BenchmarkAudit10000JSON(b *testing.B) {
	benchmarkAudit(b, 10000, orgrun.DefaultConcurrency, "json")
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

func ExampleAuditSummary() {
	fmt.Println(AuditSummary{Accounts: 3, Compliant: 1, WithRootCredentials: 1, Skipped: 1, APICalls: 7}.line())
	// Output: 3 accounts: 1 compliant, 1 with root credentials, 1 skipped, 0 errors (7 API calls)
}
