package orgrun

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/rootctl/rootctl/orgscan"
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
func FanOut(ctx context.Context, concurrency int, list func(emit func(orgscan.Target) error) error, work func(context.Context, orgscan.Target)) error {
	if concurrency < 1 {
		concurrency = 1
	}
	targets := make(chan orgscan.Target, concurrency)
	var g errgroup.Group
	g.Go(func() error {
		defer close(targets)
		return list(func(t orgscan.Target) error {
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
