package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// The fault benchmarks run audit, delete and locks against `rootctl sim
// serve` in a process of its own (as AWS is to rootctl), 20 ms of latency
// per request, under each faultScenario, and report what a user would ask
// of a run under faults: how long against the physical bound, how many
// accounts were lost, and what it cost in memory, CPU and requests.
//
//	go test -run XXX -bench 'Faults/audit/.*/1000$' -benchtime 1x -count 3 -timeout 0 ./commands
//	go test -run XXX -bench 'Faults/delete/errors-10%/10000$' -benchtime 1x -count 3 -timeout 0 ./commands
//
// Metrics: wall-s; bound-s, the shortest time any client could take
// (faultBound); x-bound; lost, the accounts whose result is not what the
// organization holds (missing, an error, interrupted, or findings that
// differ: must be 0); for delete, misreported, the accounts whose report
// disagrees with a re-audit run afterwards (must be 0); peak-RSS-MiB, the
// benchmark process's peak resident set during the run (VmHWM, reset
// before it; the emulator is another process); cpu-s, the client's CPU
// time (user and system); requests, throttled and retries, counted per
// attempt on the client (awsconfig.CountRequests); busiest-op-calls, the
// successful calls of the management account's operation called most
// (what a throttle of every API, per account, bounds); load, the machine's
// one-minute load average as the run began, and steal-% (see
// BenchmarkAudit).

// faultScenario is one condition the fault benchmarks run under.
type faultScenario struct {
	name     string
	sim      []string // the emulator's flags
	rate     float64  // audit's --rate; 0: none
	throttle float64  // the emulator's --throttle: every API at this rate, burst as large
	quotas   bool     // --aws-quotas: AWS's published Organizations quotas
}

var faultScenarios = []faultScenario{
	{name: "no-faults"},
	{name: "throttle-50", sim: []string{"--throttle", "50"}, throttle: 50},
	{name: "throttle-50-rate-120", sim: []string{"--throttle", "50"}, throttle: 50, rate: 120},
	{name: "errors-10%", sim: []string{"--error-rate", "0.1"}},
	{name: "aws-quotas", sim: []string{"--aws-quotas"}, quotas: true},
}

// faultBound is the shortest time any client could take to make the
// successful calls succeeded counts (by "service:Operation") against the
// synthetic organization of n members in scenario sc, with benchLatency
// per request. Three things bound it:
//   - the listing: DescribeOrganization, then the ListAccounts pages of
//     20, each needing the last one's NextToken: (1 + pages) round trips
//     (at 64 in flight the audit keeps up with the 1,000 accounts a second
//     the listing yields, so this is the audit's bound on a quiet day, and
//     under 5xx: a client that retried nothing could not do better);
//   - under --throttle R (every API R a second, burst R, per calling
//     account, as AWS's quotas), the management account's busiest
//     operation: the first R calls at once, then R a second, (calls − R) /
//     R (AssumeRoot's: one per ACTIVE member for an audit, one per session
//     for delete and locks); a member account's own IAM, S3 and SQS calls
//     are a few each, within the burst;
//   - under --aws-quotas, each quota (rate, burst) the same way, plus a
//     round trip (ListAccounts' 8 a second, burst 12: (pages − 12) / 8).
func faultBound(n int, sc faultScenario, succeeded map[string]int) time.Duration {
	pages := (n + 1 + 19) / 20
	bound := time.Duration(1+pages) * benchLatency
	limited := func(calls int, lim fixtures.Limit) time.Duration {
		return time.Duration((float64(calls) - float64(lim.Burst)) / lim.Rate * float64(time.Second))
	}
	for op, calls := range succeeded {
		if service, _, _ := strings.Cut(op, ":"); sc.throttle > 0 && managementServices[service] {
			bound = max(bound, limited(calls, fixtures.Limit{Rate: sc.throttle, Burst: int(sc.throttle)}))
		}
		if lim, ok := fixtures.AWSQuotas()[op]; ok && sc.quotas {
			bound = max(bound, limited(calls, lim)+benchLatency)
		}
	}
	return bound
}

// managementServices are the services the benchmarks call with the
// management account's credentials, whose quotas all of a run's calls
// share; the others are called in member accounts' root sessions.
var managementServices = map[string]bool{"sts": true, "organizations": true, "cloudtrail": true}

// faultArgs are the command lines the benchmarks run.
func faultArgs(command string, sc faultScenario) []string {
	switch command {
	case "audit":
		args := []string{"audit", "-o", "json"}
		if sc.rate > 0 {
			args = append(args, "--rate", strconv.FormatFloat(sc.rate, 'f', -1, 64))
		}
		return args
	case "delete":
		return []string{"delete", "--all-accounts", "--reason", "benchmark", "--yes", "-o", "json"}
	case "locks":
		return []string{"locks", "--all-accounts", "--reason", "benchmark", "-o", "json"}
	}
	panic("no fault benchmark for " + command)
}

// benchAccount is an account of a JSON report, as much of it as the
// benchmarks check (read from the JSON, so that they do not depend on the
// report types).
type benchAccount struct {
	ID                  string     `json:"account_id"`
	Status              string     `json:"status"`
	Password            *struct{}  `json:"password"`
	AccessKeys          []struct{} `json:"access_keys"`
	MFADevices          []struct{} `json:"mfa_devices"`
	SigningCertificates []struct{} `json:"signing_certificates"`
}

// result is what the benchmark compares with what the organization holds:
// the status, and for an audit the findings.
func (a benchAccount) result() string {
	if a.Status != orgrun.StatusRootCredentials {
		return a.Status
	}
	return fmt.Sprintf("%s password=%t keys=%d mfa=%d certs=%d", a.Status, a.Password != nil,
		len(a.AccessKeys), len(a.MFADevices), len(a.SigningCertificates))
}

// wantResult is the result command must report for account i of org.
func wantResult(command string, org *fixtures.Org, i int) string {
	a := org.Accounts[i]
	switch {
	case i == 0 || a.State != fixtures.StateActive:
		return orgrun.StatusSkipped
	case command == "locks":
		return "clear" // the synthetic organization has no buckets
	case command == "delete" && a.Root.Empty():
		return "nothing_to_do"
	case command == "delete":
		return "done"
	case a.Root.Empty():
		return orgrun.StatusCompliant
	}
	return fmt.Sprintf("%s password=%t keys=%d mfa=%d certs=%d", orgrun.StatusRootCredentials, a.Root.Password != nil,
		len(a.Root.AccessKeys), len(a.Root.MFADevices), len(a.Root.SigningCertificates))
}

// readReport reads the accounts of the JSON report in path.
func readReport(b *testing.B, path string) map[string]benchAccount {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var r struct {
		Accounts []benchAccount `json:"accounts"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		b.Fatalf("the report: %v", err)
	}
	out := make(map[string]benchAccount, len(r.Accounts))
	for _, a := range r.Accounts {
		out[a.ID] = a
	}
	return out
}

// lostAccounts counts the accounts of org whose result in got is not
// wantResult's.
func lostAccounts(command string, org *fixtures.Org, got map[string]benchAccount) int {
	lost := 0
	for i, a := range org.Accounts {
		if r, ok := got[a.ID]; !ok || r.result() != wantResult(command, org, i) {
			lost++
		}
	}
	return lost + max(0, len(got)-len(org.Accounts))
}

// misreported counts the accounts whose delete report says they hold no
// root credentials any more (done, nothing_to_do) where the re-audit finds
// some, or the other way round.
func misreported(deleted, audited map[string]benchAccount) int {
	n := 0
	for id, d := range deleted {
		if d.Status == orgrun.StatusSkipped {
			continue
		}
		clean := d.Status == "done" || d.Status == "nothing_to_do"
		if clean != (audited[id].Status == orgrun.StatusCompliant) {
			n++
		}
	}
	return n
}

// benchmarkFaults runs command over the synthetic organization of n
// members under sc; see the comment at the top of the file.
func benchmarkFaults(b *testing.B, command string, n int, sc faultScenario) {
	dir := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		sim := startSimProcess(b, append([]string{"--accounts", strconv.Itoa(n), "--latency", benchLatency.String()}, sc.sim...)...)
		report := filepath.Join(dir, "report.json")
		out, err := os.Create(report)
		if err != nil {
			b.Fatal(err)
		}
		var stderr bytes.Buffer
		deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &stderr, Quiet: true},
			LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now), StateDir: filepath.Join(dir, "state")}
		counts := countRequests(deps)
		load := loadAverage()
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS()
		cpu, steal := cpuTime(), readCPUTimes()
		b.StartTimer()

		begin := time.Now()
		code := Run(context.Background(), append([]string{"rootctl"}, faultArgs(command, sc)...), deps)
		took := time.Since(begin)

		b.StopTimer()
		used, rss, stolen := cpuTime()-cpu, peakRSS(), readCPUTimes().stolenSince(steal)
		out.Close()
		if want := map[string]int{"audit": ExitFindings, "delete": ExitOK, "locks": ExitOK}[command]; code != want {
			b.Fatalf("%s: exit %d, want %d: %s", command, code, want, stderr.String())
		}
		org := fixtures.Synthetic(n)
		got := readReport(b, report)
		b.ReportMetric(float64(lostAccounts(command, org, got)), "lost")
		if command == "delete" {
			// Re-audit, under the same faults, what the delete left.
			out, _ := os.Create(report)
			deps.IO.Out = out
			if code := Run(context.Background(), []string{"rootctl", "audit", "-o", "json"}, deps); code != ExitOK {
				b.Fatalf("re-audit after delete: exit %d, want 0 (no root credentials left): %s", code, stderr.String())
			}
			out.Close()
			b.ReportMetric(float64(misreported(got, readReport(b, report))), "misreported")
		}
		sim.stop()
		c, succeeded := counts()
		bound, busiest := faultBound(n, sc, succeeded), 0
		for op, calls := range succeeded {
			if service, _, _ := strings.Cut(op, ":"); managementServices[service] {
				busiest = max(busiest, calls)
			}
		}
		b.ReportMetric(float64(busiest), "busiest-op-calls")
		b.ReportMetric(took.Seconds(), "wall-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "x-bound")
		b.ReportMetric(rss/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(used.Seconds(), "cpu-s")
		b.ReportMetric(float64(c.Requests()), "requests")
		b.ReportMetric(float64(c.Throttled()), "throttled")
		b.ReportMetric(float64(c.Retries()), "retries")
		b.ReportMetric(load, "load")
		b.ReportMetric(stolen*100, "steal-%")
		b.StartTimer()
	}
}

// BenchmarkFaults runs every command, scenario and size:
// Faults/COMMAND/SCENARIO/ACCOUNTS. delete and locks have no --rate, so
// no throttle-50-rate-120.
func BenchmarkFaults(b *testing.B) {
	for _, command := range []string{"audit", "delete", "locks"} {
		b.Run(command, func(b *testing.B) {
			for _, sc := range faultScenarios {
				if sc.rate > 0 && command != "audit" {
					continue
				}
				b.Run(sc.name, func(b *testing.B) {
					for _, n := range []int{1000, 10000} {
						b.Run(strconv.Itoa(n), func(b *testing.B) { benchmarkFaults(b, command, n, sc) })
					}
				})
			}
		})
	}
}

// countRequests makes deps' runs count their requests, and returns how to
// read the counts of the first run: awsconfig's, and the calls that
// succeeded by "service:Operation" (as fixtures.AWSQuotas names them).
func countRequests(deps *Deps) func() (*awsconfig.RequestCounts, map[string]int) {
	var counts *awsconfig.RequestCounts
	var mu sync.Mutex
	succeeded := map[string]int{}
	load := deps.LoadAWS
	deps.LoadAWS = func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
		env, err := load(ctx, opts, io)
		if err != nil || counts != nil {
			return env, err
		}
		counts = awsconfig.CountRequests(&env.AWS)
		env.AWS.APIOptions = append(env.AWS.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("bench.Succeeded", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				if err == nil {
					op := strings.ToLower(awsmiddleware.GetServiceID(ctx)) + ":" + awsmiddleware.GetOperationName(ctx)
					mu.Lock()
					succeeded[op]++
					mu.Unlock()
				}
				return out, md, err
			}), middleware.After)
		})
		return env, err
	}
	return func() (*awsconfig.RequestCounts, map[string]int) { return counts, succeeded }
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS makes the process's peak resident set (VmHWM) its current
// one, so that peakRSS then reads the peak of what follows (Linux's
// /proc/self/clear_refs; nothing elsewhere).
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// loadAverage is the machine's one-minute load average; 0 where
// /proc/loadavg is not there.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(data) + " 0")[0], 64)
	return v
}
