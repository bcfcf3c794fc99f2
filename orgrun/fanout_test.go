package orgrun

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/orgscan"
)

func TestFanOutBoundsWorkInFlight(t *testing.T) {
	var inFlight, peak, done atomic.Int32
	list := func(emit func(orgscan.Target) error) error {
		for i := range 200 {
			if err := emit(orgscan.Target{Account: orgscan.Account{ID: fmt.Sprintf("%012d", i)}}); err != nil {
				return err
			}
		}
		return nil
	}
	err := FanOut(context.Background(), 7, list, func(ctx context.Context, t orgscan.Target) {
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
	list := func(emit func(orgscan.Target) error) error {
		if err := emit(orgscan.Target{Account: orgscan.Account{ID: "000000000001"}}); err != nil {
			return err
		}
		select { // the listing's next page waits until work has begun
		case <-started:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("work did not start while the listing was still going")
		}
	}
	err := FanOut(context.Background(), 4, list, func(context.Context, orgscan.Target) { once.Do(func() { close(started) }) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestFanOutReportsEveryListedTargetWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var seen, afterCancel atomic.Int32
	list := func(emit func(orgscan.Target) error) error {
		for i := range 100 {
			if i == 10 {
				cancel()
			}
			if err := emit(orgscan.Target{}); err != nil {
				return err
			}
		}
		return nil
	}
	err := FanOut(ctx, 2, list, func(ctx context.Context, t orgscan.Target) {
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
