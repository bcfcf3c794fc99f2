package awsconfig

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// The retryer, measured against `rootctl sim serve` in a process of its
// own (1,000 accounts, 20 ms latency, 10% of requests answered 503; the
// audit's bound is the listing's 1.04 s; the 2-core test machine;
// BenchmarkFaults):
//
//   - The SDK's legacy backoff (what rootctl had, and the SDK's default)
//     waits up to 1 s × 2^attempt (up to 20 s) after any error: 21.3 s
//     (14.6–21.7 s), as the few accounts that meet three or four 503s in
//     a row wait tens of seconds each, and so does the run; 104 s for
//     10,000 accounts.
//   - AWS's 2026 behaviour, which the pinned SDK carries behind the
//     environment variable AWS_NEW_RETRIES_2026=true: a 50 ms base for
//     transient errors and 1 s for throttling: 1.80 s (1.53–1.95 s).
//   - The 2026 backoff without the variable, and without its retry quota
//     (measured, as the next, once the emulator's latency was a round trip
//     with the service's work inside it, not added to it; the two above
//     were measured before): 1.56 s (1.47–1.77 s, 6 runs), 13.9 s for
//     10,000 accounts. What it
//     adds to the quiet day is mostly the listing's own retries: one call
//     at a time, each page waiting for the one before, so each of the
//     failed 10% of its pages costs the run a round trip and the wait.
//   - rootctl's, below (a 503 answer waits from a 10 ms base): 1.39 s
//     (1.36–1.53 s, 6 runs), 13.4 s (13.2–13.4) for 10,000 accounts.
//   - Either SDK mode keeps a retry quota: 500 tokens per client, 5 per
//     retry (legacy) or 14 per retry and 5 per throttled retry (2026), 1
//     back per success. In a storm it runs dry (100 throttled retries, or
//     36 after 5xx, without a success in between) and every call that
//     fails next ends with "retry quota exceeded" while AWS would have
//     answered: with one client shared by 64 accounts in flight, those
//     accounts are lost.
//
// So rootctl sets the behaviour in code, whatever the environment says:
// the SDK's standard retryer decides what is retried (5xx, connection
// errors and timeouts, throttling) and bounds the attempts (MaxAttempts),
// with its retry quota off (ratelimit.None) and its own delay zero; the
// Pacer's middleware waits instead, after every failed attempt, a full
// jitter of 2026's exponential backoff:
//
//	uniform(0, min(base × 2^(retry−1), MaxBackoff))
//
// with base ThrottleBackoff (1 s, AWS's) after a throttling answer,
// ServerErrorBackoff (10 ms) after a 500 or 503 answer, and
// TransientBackoff (50 ms, AWS's) after any other retryable failure: a
// 502 or 504 (a proxy or load balancer that got no answer upstream), a
// broken or refused connection, an attempt that timed out. A 500 or 503
// says the service itself answered, failing this request: most often one
// host behind the endpoint, and the next attempt, balanced afresh, meets
// another. Its retries are spread over the same ten attempts, only
// sooner: they still span up to 5.1 s (2.6 s on average), where AWS's
// standard mode makes three attempts within 150 ms; a longer outage ends
// the call with its error, in the report, never silently. A failure with
// no answer from the service may be the network itself, which takes
// longer to come back: its ten attempts span up to 25.6 s.
// The waits happen in the middleware because the SDK numbers the first
// retry 1 in its legacy mode and 0 in its 2026 mode, so a delay computed
// from the SDK's numbering would change with the environment; the
// middleware counts the attempts itself, and waits on the Pacer's clock,
// which tests can drive. Measured with it: see BENCHMARKS.md ("Faults").

// ServerErrorBackoff is the base delay after a 500 or 503 answer.
const ServerErrorBackoff = 10 * time.Millisecond

// TransientBackoff is the base delay after any other transient failure:
// a 502 or 504, a broken or refused connection, an attempt that timed out.
const TransientBackoff = 50 * time.Millisecond

// ThrottleBackoff is the base delay after a throttling answer.
const ThrottleBackoff = time.Second

// MaxBackoff bounds one wait between two attempts.
const MaxBackoff = 20 * time.Second

// newRetryer is the retryer of every rootctl client: see above.
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil }) // the Pacer waits
	})
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// isThrottle tells a throttling answer.
func isThrottle(err error) bool {
	return err != nil && throttles.IsErrorThrottle(err) == aws.TrueTernary
}

// Backoff is the wait before retry number retry (1 for the second
// attempt) of a call whose last attempt failed with err: a full jitter,
// drawn from p's jitter, of min(base × 2^(retry−1), MaxBackoff).
func (p *Pacer) Backoff(retry int, err error) time.Duration {
	base := TransientBackoff
	var answer *awshttp.ResponseError
	switch {
	case isThrottle(err):
		base = ThrottleBackoff
	case errors.As(err, &answer) && (answer.HTTPStatusCode() == 500 || answer.HTTPStatusCode() == 503):
		base = ServerErrorBackoff
	}
	retry = max(retry, 1)
	ceiling := MaxBackoff
	if retry-1 < 32 {
		ceiling = min(base<<(retry-1), MaxBackoff)
	}
	return time.Duration(p.jitter() * float64(ceiling))
}

// callState is one call's attempts so far, for the Pacer's middleware.
type callState struct {
	attempts int
	lastErr  error
}

type callKey struct{}

const (
	retryID = "Retry" // the SDK's retry loop (retry.Attempt)
	callID  = "rootctl.Call"
	paceID  = "rootctl.Pace"
)

// AddTo is an aws.Config APIOptions entry that paces every attempt of a
// call: after a failed attempt it waits the Backoff, then for the
// operation's turn at its pace; the answer then adjusts the pace.
func (p *Pacer) AddTo(stack *middleware.Stack) error {
	call := middleware.FinalizeMiddlewareFunc(callID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		return next.HandleFinalize(middleware.WithStackValue(ctx, callKey{}, &callState{}), in)
	})
	pace := middleware.FinalizeMiddlewareFunc(paceID, p.handleAttempt)
	if _, ok := stack.Finalize.Get(retryID); !ok {
		// No retry loop: the one attempt.
		if err := stack.Finalize.Add(call, middleware.Before); err != nil {
			return err
		}
		return stack.Finalize.Insert(pace, callID, middleware.After)
	}
	if err := stack.Finalize.Insert(call, retryID, middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(pace, retryID, middleware.After)
}

func (p *Pacer) handleAttempt(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	call, _ := middleware.GetStackValue(ctx, callKey{}).(*callState)
	if call == nil {
		call = &callState{}
	}
	call.attempts++
	if call.attempts > 1 {
		if err := p.clock.Sleep(ctx, p.Backoff(call.attempts-1, call.lastErr)); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, &aws.RequestCanceledError{Err: err}
		}
	}
	op := p.opOf(ctx)
	var gen uint64
	if op != nil {
		var err error
		if gen, err = op.wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, &aws.RequestCanceledError{Err: err}
		}
	}
	out, md, err := next.HandleFinalize(ctx, in)
	call.lastErr = err
	if op != nil {
		switch {
		case err == nil:
			op.succeeded()
		case isThrottle(err):
			op.throttled(gen)
		}
	}
	return out, md, err
}
