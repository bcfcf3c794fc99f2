package awsconfig

import (
	"context"
	"testing"
)

// TestCountRequests counts requests, not calls: a call answered with
// throttling, then a 503, then success is three requests, one throttled,
// two retries.
func TestCountRequests(t *testing.T) {
	t.Parallel()
	cfg := testConfig(&scripted{answers: []string{"Throttling", "ServiceUnavailable"}}, NewPacer(newFakeClock(), half))
	c := CountRequests(&cfg)
	for range 2 {
		if err := callSTS(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if c.Requests() != 4 || c.Throttled() != 1 || c.Retries() != 2 {
		t.Fatalf("%d requests, %d throttled, %d retries; want 4, 1, 2", c.Requests(), c.Throttled(), c.Retries())
	}
}
