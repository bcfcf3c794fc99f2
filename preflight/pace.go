package preflight

import (
	"context"
	"sync"
	"time"
)

// Rate is a request-rate quota: requests per second, and the burst
// allowed above it.
type Rate struct {
	PerSecond float64
	Burst     int
}

// bucket is a token bucket: a request takes a token, tokens come back at
// the rate, up to the burst. Requests that find none wait their turn.
type bucket struct {
	rate  Rate
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(rate Rate, now func() time.Time, sleep func(context.Context, time.Duration) error) *bucket {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if rate.Burst < 1 {
		rate.Burst = 1
	}
	return &bucket{rate: rate, now: now, sleep: sleep, tokens: float64(rate.Burst)}
}

// wait takes a token, waiting for one when there is none; a rate of 0
// or less does not pace.
func (b *bucket) wait(ctx context.Context) error {
	if b.rate.PerSecond <= 0 {
		return ctx.Err()
	}
	b.mu.Lock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate.PerSecond
		if b.tokens > float64(b.rate.Burst) {
			b.tokens = float64(b.rate.Burst)
		}
	}
	b.last = now
	b.tokens-- // taken now; a negative count is the queue of requests waiting
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate.PerSecond * float64(time.Second))
	}
	b.mu.Unlock()
	if d == 0 {
		return ctx.Err()
	}
	return b.sleep(ctx, d)
}
