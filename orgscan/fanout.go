package orgscan

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/errgroup"
)

// DefaultConcurrency is how many accounts are worked on at once unless told
// otherwise. ListAccounts yields at most 8 pages of 20 accounts a second
// (its published quota), 160 accounts/s; an audit takes 2 to 4 round trips
// per account (2.5 on average), so at some 100 ms a round trip 40 accounts
// in flight keep up with the listing, and 64 leave headroom for slower
// round trips without pushing AssumeRoot near the STS request-rate limit of
// the management account.
const DefaultConcurrency = 64

// FanOut runs work for every target that list emits, with at most
// concurrency targets in flight. Work starts as soon as a target is
// emitted, while the listing goes on. work must record its own outcome;
// when ctx is cancelled, work is still called for the targets already
// listed so it can report them as not done. FanOut returns list's error.
func FanOut(ctx context.Context, concurrency int, list func(emit func(Target) error) error, work func(context.Context, Target)) error {
	if concurrency < 1 {
		concurrency = 1
	}
	targets := make(chan Target, concurrency)
	var g errgroup.Group
	g.Go(func() error {
		defer close(targets)
		return list(func(t Target) error {
			select {
			case targets <- t:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range concurrency {
		g.Go(func() error {
			for t := range targets {
				work(ctx, t)
			}
			return nil
		})
	}
	return g.Wait()
}

// LimitRate paces every request made with cfg to at most rps per second
// (retries included), by wrapping its HTTP client. Pacing below AWS's
// quota keeps throttling, and so retries, near zero.
func LimitRate(cfg *aws.Config, rps float64) {
	if rps <= 0 {
		return
	}
	next := cfg.HTTPClient
	if next == nil {
		next = http.DefaultClient
	}
	// A tiny rate's interval would overflow time.Duration and wrap to a
	// negative one, pacing nothing; the longest interval is close enough.
	interval := time.Duration(math.MaxInt64)
	if f := float64(time.Second) / rps; f < math.MaxInt64 {
		interval = time.Duration(f)
	}
	cfg.HTTPClient = &pacer{next: next, interval: interval}
}

type pacer struct {
	next     aws.HTTPClient
	interval time.Duration

	mu     sync.Mutex
	slotAt time.Time
}

func (p *pacer) Do(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	now := time.Now()
	if p.slotAt.Before(now) {
		p.slotAt = now
	}
	wait := p.slotAt.Sub(now)
	p.slotAt = p.slotAt.Add(p.interval)
	p.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return p.next.Do(req)
}

// ForEach calls work for each index below n, with at most concurrency
// calls at once. Like FanOut, it calls work for every index even after ctx
// is cancelled, so that work can report what it did not do.
func ForEach(ctx context.Context, concurrency, n int, work func(ctx context.Context, i int)) {
	var g errgroup.Group
	g.SetLimit(max(concurrency, 1))
	for i := range n {
		g.Go(func() error {
			work(ctx, i)
			return nil
		})
	}
	g.Wait()
}
