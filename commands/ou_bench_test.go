package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
)

// orgRequests counts a run's Organizations requests by operation (the
// X-Amz-Target header), and those answered TooManyRequestsException.
type orgRequests struct {
	next aws.HTTPClient

	mu        sync.Mutex
	ops       map[string]int
	throttled int
}

// countOrgRequests makes deps' runs send their requests through a new
// orgRequests.
func countOrgRequests(deps *Deps) *orgRequests {
	rt := &orgRequests{ops: map[string]int{}}
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

func (rt *orgRequests) Do(r *http.Request) (*http.Response, error) {
	op, isOrg := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSOrganizationsV20161128.")
	resp, err := rt.next.Do(r)
	if !isOrg {
		return resp, err
	}
	throttled := false
	if err == nil && resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		throttled = bytes.Contains(body, []byte("TooManyRequestsException"))
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.ops[op]++
	if throttled {
		rt.throttled++
	}
	return resp, err
}

func (rt *orgRequests) total() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := 0
	for _, c := range rt.ops {
		n += c
	}
	return n
}

// lineCounter counts the lines written to it.
type lineCounter struct {
	mu sync.Mutex
	n  int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += bytes.Count(p, []byte{'\n'})
	c.mu.Unlock()
	return len(p), nil
}

// benchmarkOU audits the accounts under ou in a synthetic organization of
// 10,000 members in 200 OUs, served by `rootctl sim serve --aws-quotas`
// (Organizations' published request-rate quotas) with 20 ms of latency:
// with Account.Paths, --ou selects from ListAccounts by path prefix;
// with --no-paths, rootctl walks the tree under ou. It reports the wall
// time, the Organizations requests (by operation, and those throttled)
// and the accounts reported.
//
//	go test -run XXX -bench 'OUSelection10000' -benchtime 1x ./commands
func benchmarkOU(b *testing.B, ou string, walk bool) {
	args := []string{"--accounts", "10000", "--aws-quotas", "--latency", benchLatency.String()}
	if walk {
		args = append(args, "--no-paths")
	}
	for b.Loop() {
		b.StopTimer()
		sim := startSimProcess(b, args...)
		lines := &lineCounter{}
		deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: lines, ErrOut: io.Discard, Quiet: true},
			LoadAWS: loadStatic(sim.endpoint, sim.creds, time.Now)}
		reqs := countOrgRequests(deps)
		b.StartTimer()

		begin := time.Now()
		err := AuditCommand(context.Background(), AuditInput{Output: "ndjson", Concurrency: orgrun.DefaultConcurrency,
			Selection: orgscan.Selection{OU: ou}}, deps)
		took := time.Since(begin)

		b.StopTimer()
		sim.stop()
		if code := exitCode(err); code != ExitOK && code != ExitFindings {
			b.Fatalf("audit --ou %s: exit %d: %v", ou, code, err)
		}
		b.ReportMetric(took.Seconds(), "wall-s")
		b.ReportMetric(float64(lines.n), "accounts")
		b.ReportMetric(float64(reqs.total()), "org-requests")
		b.ReportMetric(float64(reqs.throttled), "throttled")
		for _, op := range []string{"ListAccounts", "ListAccountsForParent", "ListOrganizationalUnitsForParent", "ListParents", "ListRoots"} {
			b.ReportMetric(float64(reqs.ops[op]), op)
		}
		b.StartTimer()
	}
}

// BenchmarkOUSelection10000 compares --ou by path prefix with the tree
// walk for the root (every account), a top-level OU (1,000 accounts in 20
// OUs) and a leaf OU (50 accounts) of the synthetic organization.
func BenchmarkOUSelection10000(b *testing.B) {
	for _, ou := range []struct{ name, id string }{
		{"root", "r-5y7h"}, {"top-level-OU", "ou-5y7h-00000003"}, {"leaf-OU", "ou-5y7h-c0030007"},
	} {
		for _, walk := range []bool{false, true} {
			how := "prefix"
			if walk {
				how = "walk"
			}
			b.Run(fmt.Sprintf("%s/%s", ou.name, how), func(b *testing.B) { benchmarkOU(b, ou.id, walk) })
		}
	}
}
