package awsconfig

import (
	"context"
	"time"
)

// Clock is where pacing and retry backoff read the time and wait: the
// system's in a run (SystemClock), a fake one in tests, which can then
// assert a rate or a backoff exactly.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends, and then returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the Clock of a run: time.Now and a timer.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d on a timer, or until ctx ends.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
