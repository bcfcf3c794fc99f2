// Package awsconfig builds the one AWS configuration a rootctl run shares:
// the SDK's default chain with a credential check up front (Load), and
// what every run needs on top (Finish): a Regional default, one HTTP
// client sized for fan-out with a bound on every attempt, a retryer
// without the client-side retry quota, adaptive pacing of the shared
// quotas, the interrupt tracker, and, where asked, a ceiling on the
// request rate (LimitRate) and a count of the requests sent
// (CountRequests). It knows nothing of flags.
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/rootctl/rootctl/interrupt"
)

// DefaultRegion is the region of a run whose configuration names none.
const DefaultRegion = "us-east-1"

// GlobalRegion names the global STS endpoint, which refuses AssumeRoot.
const GlobalRegion = "aws-global"

// DefaultRequestTimeout bounds each attempt of a call unless told
// otherwise: AWS answers in well under a second; 30 s is long enough for
// a slow network and short enough that a hung endpoint is noticed.
const DefaultRequestTimeout = 30 * time.Second

// MaxRequestTimeout is the longest bound an attempt may be given: with
// the retries, a call may wait ten times as long.
const MaxRequestTimeout = 10 * time.Minute

// MaxAttempts is how many times a call is sent at most, retries included.
const MaxAttempts = 10

// Finish applies what every rootctl run needs to cfg: a region (STS must
// be Regional for AssumeRoot; DefaultRegion when none is set), one HTTP
// client sized for fan-out, a retryer without the client-side retry quota
// and with the backoff of AWS's 2026 retry behaviour, set in code
// (retry.go), and adaptive pacing of the operations whose quotas the
// management account shares (adaptive.go): one Pacer per call of Finish,
// so per run. The HTTP client is NewHTTPClient's, trusting the
// certificate authorities the loaded configuration's did (AWS_CA_BUNDLE,
// a profile's ca_bundle). IAM and Organizations
// are signed for their global Region even through a custom endpoint
// (signGlobalServices).
//
// Every attempt is bounded by requestTimeout (connect, TLS handshake
// (never over the SDK's 10 s), response headers), so that a hung endpoint
// cannot hold a call (and so a run) forever, not even a change call that
// Ctrl-C lets finish: an attempt that times out is retried like any
// transport error, within MaxAttempts. Zero means DefaultRequestTimeout.
// Every call is tracked while in flight (interrupt.Track), for the second
// Ctrl-C to name.
func Finish(cfg *aws.Config, requestTimeout time.Duration) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	timeout := requestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	cfg.HTTPClient = NewHTTPClient(timeout).(httpClient).trusting(rootCAs(cfg.HTTPClient))
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), interrupt.Track, timeoutErrors(timeout))
	cfg.APIOptions = append(cfg.APIOptions, signGlobalServices) // IAM and Organizations sign for their global Region
	cfg.APIOptions = append(cfg.APIOptions, NewPacer(SystemClock{}, rand.Float64).AddTo)
	cfg.Retryer = newRetryer
}

// RequestTimeoutError is a call whose every attempt went unanswered within
// the request timeout.
type RequestTimeoutError struct {
	Timeout  time.Duration
	Attempts int
	Err      error
}

func (e *RequestTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %v (--request-timeout), %d attempts; the endpoint or the network is slow or down: try again later, or raise --request-timeout",
		e.Timeout, e.Attempts)
}

func (e *RequestTimeoutError) Unwrap() error { return e.Err }

// timeoutErrors is an APIOptions entry that words a call that failed
// because its attempts timed out as such (the SDK's own error is a long
// chain ending in "net/http: timeout awaiting response headers").
func timeoutErrors(timeout time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("rootctl.RequestTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				// A timeout with the call's own context still live is an
				// attempt's (net/http's header timeout also matches
				// context.DeadlineExceeded, so that cannot tell them apart).
				var te interface{ Timeout() bool }
				if err != nil && errors.As(err, &te) && te.Timeout() && ctx.Err() == nil {
					attempts := 1
					if r, ok := retry.GetAttemptResults(md); ok {
						attempts = len(r.Results)
					}
					err = &RequestTimeoutError{Timeout: timeout, Attempts: attempts, Err: err}
				}
				return out, md, err
			}), middleware.After)
	}
}
