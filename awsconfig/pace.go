package awsconfig

import (
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// LimitRate paces every request made with cfg to at most rps per second
// (retries included), by wrapping its HTTP client. Pacing below AWS's
// quota keeps throttling, and so retries, near zero. A rate of 0 or less
// leaves cfg alone.
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

// pacer hands out one slot every interval; a request waits for its slot,
// or for its context to end.
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
