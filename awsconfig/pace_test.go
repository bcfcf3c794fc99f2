package awsconfig

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

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
