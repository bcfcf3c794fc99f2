package orgscan

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestFanOutBoundsWorkInFlight(t *testing.T) {
	var inFlight, peak, done atomic.Int32
	list := func(emit func(Target) error) error {
		for i := range 200 {
			if err := emit(Target{Account: Account{ID: fmt.Sprintf("%012d", i)}}); err != nil {
				return err
			}
		}
		return nil
	}
	err := FanOut(context.Background(), 7, list, func(ctx context.Context, t Target) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		done.Add(1)
	})
	if err != nil || done.Load() != 200 || peak.Load() > 7 || peak.Load() < 2 {
		t.Fatalf("err %v, done %d, peak in flight %d (want ≤ 7 and > 1)", err, done.Load(), peak.Load())
	}
}

func TestFanOutStartsWorkBeforeListingEnds(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	list := func(emit func(Target) error) error {
		if err := emit(Target{Account: Account{ID: "000000000001"}}); err != nil {
			return err
		}
		select { // the listing's next page waits until work has begun
		case <-started:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("work did not start while the listing was still going")
		}
	}
	err := FanOut(context.Background(), 4, list, func(context.Context, Target) { once.Do(func() { close(started) }) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestFanOutReportsEveryListedTargetWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var seen, afterCancel atomic.Int32
	list := func(emit func(Target) error) error {
		for i := range 100 {
			if i == 10 {
				cancel()
			}
			if err := emit(Target{}); err != nil {
				return err
			}
		}
		return nil
	}
	err := FanOut(ctx, 2, list, func(ctx context.Context, t Target) {
		time.Sleep(time.Millisecond) // slow work keeps listed targets queued at the cancel
		seen.Add(1)
		if ctx.Err() != nil {
			afterCancel.Add(1)
		}
	})
	if err == nil || seen.Load() < 10 || seen.Load() == 100 || afterCancel.Load() == 0 {
		t.Fatalf("err %v, seen %d, after cancel %d", err, seen.Load(), afterCancel.Load())
	}
}

type countingClient struct{ n atomic.Int32 }

func (c *countingClient) Do(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func TestLimitRatePacesRequests(t *testing.T) {
	inner := &countingClient{}
	cfg := aws.Config{HTTPClient: inner}
	LimitRate(&cfg, 100)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	begin := time.Now()
	for range 11 {
		if _, err := cfg.HTTPClient.Do(req); err != nil {
			t.Fatal(err)
		}
	}
	// 11 requests at 100/s need at least 100 ms: the first is free.
	if took := time.Since(begin); took < 100*time.Millisecond || inner.n.Load() != 11 {
		t.Fatalf("11 requests took %v (%d sent), want at least 100ms", took, inner.n.Load())
	}
	unlimited := aws.Config{HTTPClient: inner}
	LimitRate(&unlimited, 0)
	if unlimited.HTTPClient != inner {
		t.Fatal("rate 0 must leave the client alone")
	}
}

func TestSelectionValidate(t *testing.T) {
	tests := []struct {
		sel  Selection
		okay bool
	}{
		{Selection{}, true},
		{Selection{Accounts: []string{"123456789012"}, Exclude: []string{"210987654321"}}, true},
		{Selection{OU: "ou-ab12-cdef3456"}, true},
		{Selection{OU: "r-ab12"}, true},
		{Selection{Accounts: []string{"1234567890123"}}, false},
		{Selection{Exclude: []string{"x"}}, false},
		{Selection{OU: "ou-AB12-cdef3456"}, false},
		{Selection{Tags: map[string]string{"": "v"}}, false},
	}
	for _, tt := range tests {
		if err := tt.sel.Validate(); (err == nil) != tt.okay {
			t.Errorf("Validate(%+v) = %v", tt.sel, err)
		}
	}
}

// TestLimitRateOfATinyRateStillPaces: a rate so small that a second
// divided by it overflows time.Duration must not wrap to a negative
// interval, which paced nothing: the limit asked for became no limit.
func TestLimitRateOfATinyRateStillPaces(t *testing.T) {
	t.Parallel()
	for _, rps := range []float64{1e-10, 1e-300, 5e-324} {
		cfg := aws.Config{}
		LimitRate(&cfg, rps)
		p, ok := cfg.HTTPClient.(*pacer)
		if !ok || p.interval <= time.Hour {
			t.Errorf("LimitRate(%g): interval %v, want one request in more than an hour", rps, p.interval)
		}
	}
}
