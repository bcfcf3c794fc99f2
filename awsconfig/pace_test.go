package awsconfig

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestLimitRatePacesAtExactlyTheRateAsked: calls through the SDK with
// --rate set go one every 1/rate, the first at once, one at a time or
// many at once: the time they take is exactly (n−1)/rate (to the
// nanosecond x/time/rate rounds to), so a pacer at half or twice the rate
// fails, not only one that is too fast.
func TestLimitRatePacesAtExactlyTheRateAsked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		rps        float64
		goroutines int
		calls      int // per goroutine
	}{
		{"100 requests a second, one call after another", 100, 1, 11},
		{"120 requests a second, one call after another", 120, 1, 13},
		{"3 requests a second, one call after another", 3, 1, 4},
		{"100 requests a second, 8 callers at once", 100, 8, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			cfg := testConfig(&scripted{}, NewPacer(clock, half))
			limitRate(&cfg, tc.rps, clock)
			var wg sync.WaitGroup
			for range tc.goroutines {
				wg.Go(func() {
					for range tc.calls {
						if err := callSTS(context.Background(), cfg); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			n := tc.goroutines * tc.calls
			took := clock.Now().Sub(epoch)
			want := time.Duration(float64(n-1) / tc.rps * float64(time.Second))
			if d := took - want; d < -time.Duration(n) || d > time.Duration(n) {
				t.Errorf("%d requests took %v, want %v", n, took, want)
			}
			interval := time.Duration(float64(time.Second) / tc.rps)
			for _, s := range clock.sleeps() {
				if d := s - interval; d < -1 || d > 1 {
					t.Errorf("waited %v between two requests, want %v", s, interval)
				}
			}
		})
	}
}

// TestLimitRateHonoursCancellation: a request waiting for its slot, or for
// its turn to take one, returns as soon as its context ends, and the slot
// it held goes to the next request instead of being lost.
func TestLimitRateHonoursCancellation(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	cfg := testConfig(&scripted{}, NewPacer(clock, half))
	limitRate(&cfg, 100, clock)
	if err := callSTS(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	clock.setBlock(true)
	waiting, cancelWaiting := context.WithCancel(context.Background())
	queued, cancelQueued := context.WithCancel(context.Background())
	waitingErr, queuedErr := make(chan error), make(chan error)
	go func() { waitingErr <- callSTS(waiting, cfg) }()
	if d := <-clock.sleeping; d != 10*time.Millisecond {
		t.Fatalf("the second request waits %v, want 10ms", d)
	}
	go func() { queuedErr <- callSTS(queued, cfg) }()
	time.Sleep(50 * time.Millisecond) // (real time) for it to queue behind the waiting one
	cancelQueued()
	if err := <-queuedErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("a request waiting for its turn, cancelled: %v, want context.Canceled", err)
	}
	cancelWaiting()
	if err := <-waitingErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("a request waiting for its slot, cancelled: %v, want context.Canceled", err)
	}
	clock.setBlock(false)
	clock.sleeps()
	if err := callSTS(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if s := clock.sleeps(); len(s) != 1 || s[0] != 10*time.Millisecond {
		t.Fatalf("the request after the cancelled ones waited %v, want [10ms]: the slot of the cancelled one was lost", s)
	}
}

// TestLimitRateOfATinyRateStillPaces: a rate so small that its interval
// overflows time.Duration must still pace (wait at least the longest
// Duration), not wrap to no wait at all.
func TestLimitRateOfATinyRateStillPaces(t *testing.T) {
	t.Parallel()
	for _, rps := range []float64{1e-10, 1e-300, 5e-324} {
		clock := newFakeClock()
		g := newGate(clock, rate.Limit(rps))
		for range 2 {
			if err := g.wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if s := clock.sleeps(); len(s) != 1 || s[0] <= time.Hour {
			t.Errorf("rate %g: the second request waited %v, want more than an hour", rps, s)
		}
	}
}

// TestLimitRateZeroLeavesTheConfigAlone: no --rate, no ceiling.
func TestLimitRateZeroLeavesTheConfigAlone(t *testing.T) {
	t.Parallel()
	cfg := testConfig(&scripted{}, NewPacer(newFakeClock(), half))
	LimitRate(&cfg, 0)
	LimitRate(&cfg, -1)
	if len(cfg.APIOptions) != 1 {
		t.Fatalf("%d API options, want the 1 there was", len(cfg.APIOptions))
	}
}
