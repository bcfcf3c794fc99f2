package awsconfig

import (
	"context"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"golang.org/x/time/rate"
)

// Adaptive pacing: rootctl finds each shared quota as it goes instead of
// asking the user for it.
//
// AWS throttles sts:AssumeRoot, Organizations and CloudTrail per calling
// account and Region: every call rootctl makes to them with the
// management account's credentials draws on one quota, shared with the
// account's other workloads. The IAM, S3 and SQS calls of a root session
// count against the member account itself, each its own quota, so they
// share no limit and are not paced.
//
// Each shared operation has its own pace (AIMD, as TCP finds a link's
// capacity): unlimited at first; on the first throttling answer, the
// published quota where AWS publishes one, else half the rate measured
// over the second before; halved again on each later throttling answer to
// a request sent at the current pace; and Increase higher after each
// success, up to the published quota. A throttled run so settles just
// under the real limit: it sends a little more than the limit until AWS's
// token bucket runs dry, a little less while it refills, and every retry
// waits for its turn rather than joining a stampede.

// Increase is what each successful request adds to a throttled
// operation's pace, in requests per second. Growth is so proportional to
// the pace (each second adds Increase times the requests it passed): a
// halved pace doubles back in ln 2 / Increase ≈ 2.8 s whatever the quota,
// which is slow enough that the requests sent over the limit are few
// (AWS's burst absorbs them), and fast enough that the pace spends most of
// its time near the limit.
const Increase = 0.25

// MinRate is the slowest pace halving reaches, in requests per second;
// below it the retryer's backoff spaces the attempts.
const MinRate rate.Limit = 1

// publishedQuotas are the request rates AWS publishes for the shared
// operations rootctl calls, per second per account (the AWS Organizations
// User Guide's throttling table; CloudTrail's LookupEvents). Keyed
// "ServiceID:Operation".
var publishedQuotas = map[string]rate.Limit{
	"Organizations:ListAccounts":                     8,
	"Organizations:ListAccountsForParent":            5,
	"Organizations:ListOrganizationalUnitsForParent": 5,
	"Organizations:ListParents":                      5,
	"Organizations:ListRoots":                        1,
	"Organizations:DescribeOrganization":             1,
	"Organizations:ListTagsForResource":              10,
	"Organizations:DescribeAccount":                  20,
	"Organizations:EnableAWSServiceAccess":           1,
	"Organizations:RegisterDelegatedAdministrator":   1,
	"Organizations:DeregisterDelegatedAdministrator": 1,
	"CloudTrail:LookupEvents":                        2,
}

// sharedServices are the services whose quotas the management account's
// calls share (by SDK service ID).
var sharedServices = map[string]bool{"STS": true, "Organizations": true, "CloudTrail": true}

// Pacer paces the requests of one run: an adaptive pace per shared
// operation, and the retry backoff (retry.go). Add it to a configuration
// with AddTo (Finish does).
type Pacer struct {
	clock  Clock
	jitter func() float64 // uniform in [0, 1)

	mu  sync.Mutex
	ops map[string]*adaptiveRate
}

// NewPacer returns a Pacer that reads the time from clock and draws the
// backoff's jitter from jitter (uniform in [0, 1)).
func NewPacer(clock Clock, jitter func() float64) *Pacer {
	return &Pacer{clock: clock, jitter: jitter, ops: map[string]*adaptiveRate{}}
}

// Limit is the current pace of service's operation (SDK service ID, such
// as "STS"), rate.Inf for one not (yet) paced.
func (p *Pacer) Limit(service, operation string) rate.Limit {
	a := p.op(service, operation)
	if a == nil {
		return rate.Inf
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lim.Limit()
}

// op is the pace of service's operation, nil for an operation of a
// member account's own quota.
func (p *Pacer) op(service, operation string) *adaptiveRate {
	if !sharedServices[service] {
		return nil
	}
	key := service + ":" + operation
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.ops[key]
	if a == nil {
		a = &adaptiveRate{clock: p.clock, quota: publishedQuotas[key], lim: rate.NewLimiter(rate.Inf, 1), turn: make(chan struct{}, 1)}
		p.ops[key] = a
	}
	return a
}

// opOf is op for the operation of a call's context.
func (p *Pacer) opOf(ctx context.Context) *adaptiveRate {
	return p.op(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
}

// adaptiveRate is the pace of one shared operation.
type adaptiveRate struct {
	clock Clock
	quota rate.Limit // the published quota; 0 where none
	turn  chan struct{}

	mu   sync.Mutex
	lim  *rate.Limiter // rate.Inf until the first throttling answer
	gen  uint64        // bumped by each decrease
	sent []time.Time   // while unlimited: when the requests of the last second went
}

// wait returns when a request may go, with the generation of the pace it
// went at, or with ctx's error when ctx ends first. Unlimited, it returns
// at once. Otherwise waiters take turns (see gate); one whose wait a
// decrease overtook waits again, at the new pace.
func (a *adaptiveRate) wait(ctx context.Context) (uint64, error) {
	a.mu.Lock()
	if a.lim.Limit() == rate.Inf {
		now := a.clock.Now()
		a.sent = append(a.sent[a.since(now.Add(-time.Second)):], now)
		gen := a.gen
		a.mu.Unlock()
		return gen, nil
	}
	a.mu.Unlock()
	select {
	case a.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-a.turn }()
	for {
		a.mu.Lock()
		gen, lim, now := a.gen, a.lim, a.clock.Now()
		r := lim.ReserveN(now, 1)
		a.mu.Unlock()
		if err := a.clock.Sleep(ctx, r.DelayFrom(now)); err != nil {
			r.CancelAt(a.clock.Now())
			return 0, err
		}
		a.mu.Lock()
		same := a.gen == gen
		a.mu.Unlock()
		if same {
			return gen, nil
		}
	}
}

// since is the index of the first request in a.sent sent at or after t.
func (a *adaptiveRate) since(t time.Time) int {
	i := 0
	for i < len(a.sent) && a.sent[i].Before(t) {
		i++
	}
	return i
}

// throttled takes a throttling answer to a request sent at generation gen.
// Answers to requests sent before the last decrease say nothing about the
// current pace and are ignored, so that the answers to one burst halve the
// pace once.
func (a *adaptiveRate) throttled(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen {
		return
	}
	now := a.clock.Now()
	next := a.lim.Limit() / 2
	if a.lim.Limit() == rate.Inf {
		next = a.quota
		if next == 0 {
			next = rate.Limit(len(a.sent)-a.since(now.Add(-time.Second))) / 2
		}
		a.sent = nil
	}
	// A new bucket, emptied: the next request waits a whole interval of
	// the new pace.
	a.lim = rate.NewLimiter(max(next, MinRate), 1)
	a.lim.AllowN(now, 1)
	a.gen++
}

// succeeded takes a successful answer: a throttled pace grows by Increase,
// up to the published quota.
func (a *adaptiveRate) succeeded() {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.lim.Limit()
	if cur == rate.Inf {
		return
	}
	next := cur + Increase
	if a.quota > 0 {
		next = min(next, a.quota)
	}
	a.lim.SetLimitAt(a.clock.Now(), next)
}
