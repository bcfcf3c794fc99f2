package awsconfig

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// LimitRate paces every request made with cfg to rps per second, retries
// included: a ceiling (--rate) over the adaptive pacing Finish installs,
// for a run that must leave room under a quota to other callers. The
// first request goes at once, each next one 1/rps after the one before.
// A rate of 0 or less leaves cfg alone.
func LimitRate(cfg *aws.Config, rps float64) {
	limitRate(cfg, rps, SystemClock{})
}

func limitRate(cfg *aws.Config, rps float64, clock Clock) {
	if rps <= 0 {
		return
	}
	g := newGate(clock, rate.Limit(rps))
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(stack *middleware.Stack) error {
		return insertAfter(stack, middleware.FinalizeMiddlewareFunc("rootctl.RateCeiling",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := g.wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, &aws.RequestCanceledError{Err: err}
				}
				return next.HandleFinalize(ctx, in)
			}), paceID, retryID)
	})
}

// gate releases requests at the pace of a token bucket of one token
// (golang.org/x/time/rate, driven with explicit times from its clock).
// Waiters take turns: only the one whose turn it is holds a reservation,
// so a request that gives up (its context ended) hands its slot to the
// next instead of leaving a hole in the pace.
type gate struct {
	clock Clock
	lim   *rate.Limiter
	turn  chan struct{}
}

func newGate(clock Clock, limit rate.Limit) *gate {
	return &gate{clock: clock, lim: rate.NewLimiter(limit, 1), turn: make(chan struct{}, 1)}
}

// wait returns when the request may go, or with ctx's error when ctx ends
// first.
func (g *gate) wait(ctx context.Context) error {
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.turn }()
	now := g.clock.Now()
	r := g.lim.ReserveN(now, 1)
	if err := g.clock.Sleep(ctx, r.DelayFrom(now)); err != nil {
		r.CancelAt(g.clock.Now())
		return err
	}
	return nil
}

// insertAfter inserts mw into the Finalize step after the first of ids the
// stack holds (a stack without any: at its end).
func insertAfter(stack *middleware.Stack, mw middleware.FinalizeMiddleware, ids ...string) error {
	for _, id := range ids {
		if _, ok := stack.Finalize.Get(id); ok {
			return stack.Finalize.Insert(mw, id, middleware.After)
		}
	}
	return stack.Finalize.Add(mw, middleware.After)
}
