package awsconfig

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestAdaptivePaceHalvesOnThrottlingAndGrowsOnSuccess drives one shared
// operation's pace through a throttled run with a fake clock, step by
// step, and checks the pace after each.
func TestAdaptivePaceHalvesOnThrottlingAndGrowsOnSuccess(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := NewPacer(clock, half).op("STS", "AssumeRoot")
	pace := func(step string, want rate.Limit) {
		t.Helper()
		if got := a.lim.Limit(); got != want {
			t.Fatalf("%s: pace %v, want %v", step, got, want)
		}
	}
	wait := func() uint64 {
		t.Helper()
		gen, err := a.wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return gen
	}

	for i := range 10 {
		if i > 0 {
			clock.advance(100 * time.Millisecond)
		}
		if gen := wait(); gen != 0 {
			t.Fatalf("request %d sent at generation %d, want 0", i, gen)
		}
	}
	if s := clock.sleeps(); len(s) != 0 {
		t.Fatalf("unthrottled requests waited %v, want no wait: the pace starts unlimited", s)
	}
	pace("before any throttling", rate.Inf)

	a.throttled(0)
	pace("10 requests in the last second, then throttled", 5)
	a.throttled(0)
	pace("a second throttling answer to the same burst", 5)
	if gen := wait(); gen != 1 {
		t.Fatalf("request after the decrease sent at generation %d, want 1", gen)
	}
	if s := clock.sleeps(); len(s) != 1 || s[0] != 200*time.Millisecond {
		t.Fatalf("the first request after the decrease waited %v, want a whole interval of the new pace, [200ms]", s)
	}

	for range 4 {
		a.succeeded()
	}
	pace("four successes", 6)
	a.throttled(1)
	pace("throttled at the new pace", 3)
	a.throttled(1)
	pace("another answer to a request sent before that decrease", 3)
	a.throttled(2)
	pace("throttled again", 1.5)
	a.throttled(3)
	pace("throttled below the floor", MinRate)
}

// TestAdaptivePaceOfAPublishedQuota: an operation whose quota AWS
// publishes drops to it on the first throttling answer, halves below it
// on the next, and never grows past it.
func TestAdaptivePaceOfAPublishedQuota(t *testing.T) {
	t.Parallel()
	a := NewPacer(newFakeClock(), half).op("Organizations", "ListAccounts")
	if got := a.lim.Limit(); got != rate.Inf {
		t.Fatalf("pace %v before any throttling, want unlimited", got)
	}
	a.throttled(0)
	if got := a.lim.Limit(); got != 8 {
		t.Fatalf("pace %v after the first throttling answer, want ListAccounts' published 8", got)
	}
	a.succeeded()
	if got := a.lim.Limit(); got != 8 {
		t.Fatalf("pace %v after a success, want 8: no faster than the published quota", got)
	}
	a.throttled(1)
	for range 20 {
		a.succeeded()
	}
	if got := a.lim.Limit(); got != 8 {
		t.Fatalf("pace %v after halving and 20 successes, want back at 8 and no further", got)
	}
}

// TestMemberAccountCallsAreNotPaced: IAM, S3 and SQS calls of a root
// session count against the member account's own quotas: no shared pace.
func TestMemberAccountCallsAreNotPaced(t *testing.T) {
	t.Parallel()
	p := NewPacer(newFakeClock(), half)
	for _, op := range [][2]string{{"IAM", "GetAccountSummary"}, {"S3", "ListBuckets"}, {"SQS", "ListQueues"}} {
		if a := p.op(op[0], op[1]); a != nil {
			t.Errorf("%s:%s is paced, want not", op[0], op[1])
		}
		if got := p.Limit(op[0], op[1]); got != rate.Inf {
			t.Errorf("%s:%s: pace %v, want unlimited", op[0], op[1], got)
		}
	}
	for _, op := range [][2]string{{"STS", "AssumeRoot"}, {"Organizations", "ListAccounts"}, {"CloudTrail", "LookupEvents"}} {
		if a := p.op(op[0], op[1]); a == nil || a != p.op(op[0], op[1]) {
			t.Errorf("%s:%s: want one shared pace", op[0], op[1])
		}
	}
}

// TestPacerSlowsAThrottledCall: through the SDK, a throttling answer
// halves the operation's pace, and the retry waits its backoff and then a
// whole interval of the new pace; its success grows the pace.
func TestPacerSlowsAThrottledCall(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := NewPacer(clock, func() float64 { return 0 })
	cfg := testConfig(&scripted{answers: []string{"", "", "", "Throttling"}}, p)
	for i := range 4 {
		if i > 0 {
			clock.advance(250 * time.Millisecond)
		}
		if err := callSTS(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	// 4 requests in the second before the throttling answer: 2 a second;
	// the retry waits 1/2 s, succeeds, and adds Increase.
	if s := clock.sleeps(); len(s) != 1 || s[0] != 500*time.Millisecond {
		t.Fatalf("the throttled call waited %v, want [500ms]", s)
	}
	if got := p.Limit("STS", "GetCallerIdentity"); got != 2+Increase {
		t.Fatalf("pace %v, want %v", got, 2+Increase)
	}
	if got := p.Limit("STS", "AssumeRoot"); got != rate.Inf {
		t.Fatalf("another operation's pace %v, want unlimited", got)
	}
}

// TestADecreaseOvertakesAWaitingRequest: a request waiting for its slot
// when the pace is halved goes at the new pace, not at the old one.
func TestADecreaseOvertakesAWaitingRequest(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := NewPacer(clock, half).op("STS", "AssumeRoot")
	a.throttled(0) // no request in the last second: the floor, 1 a second
	for range 4 {
		a.succeeded()
	}
	if got := a.lim.Limit(); got != 2 {
		t.Fatalf("pace %v, want 2", got)
	}
	clock.onSleep = func() { a.throttled(1); clock.onSleep = nil }
	gen, err := a.wait(context.Background())
	if err != nil || gen != 2 {
		t.Fatalf("sent at generation %d (%v), want 2", gen, err)
	}
	// Reserved at 2 a second: 500 ms; halved to 1 a second as the wait
	// began, so another 500 ms to the whole second.
	if s := clock.sleeps(); !equalDurations(s, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}) {
		t.Fatalf("waited %v, want [500ms 500ms]", s)
	}
}
