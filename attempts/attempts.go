// Package attempts tells whether a change that AWS answered with "nothing
// to do" was in fact done by an earlier attempt of the same call. The SDK
// retries a call whose connection broke or that AWS answered with a server
// error; AWS may have acted on that attempt before its response was lost,
// and the retry then finds the change made (NoSuchEntity after a delete,
// EntityAlreadyExists after a create). A throttling answer or another 4xx
// is not such an attempt: AWS refuses those without acting, and neither
// is a connection that was never made.
package attempts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Record notes how each attempt of one call ended. Add it to the call with
// AddTo, read it once the call has returned; use one Record per call.
type Record struct {
	mu   sync.Mutex
	errs []error // one per attempt, nil for an answer that succeeded
}

// middlewareID names the record's middleware in the SDK's stack.
const middlewareID = "rootctl.attempts"

// AddTo adds the record to a call's middleware stack, after the SDK's retry
// loop so that it sees every attempt. Pass it among the client's
// APIOptions:
//
//	iam.NewFromConfig(cfg, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, rec.AddTo) })
func (r *Record) AddTo(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc(middlewareID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
		middleware.FinalizeOutput, middleware.Metadata, error,
	) {
		out, md, err := next.HandleFinalize(ctx, in)
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
		return out, md, err
	})
	if err := stack.Finalize.Insert(mw, (&retry.Attempt{}).ID(), middleware.After); err == nil {
		return nil
	}
	return stack.Finalize.Add(mw, middleware.After) // no retry loop: the one attempt
}

// Attempts is how many attempts the call made.
func (r *Record) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

// Lost says how an attempt before the last may have reached AWS without
// its answer reaching rootctl ("an earlier attempt's response was lost",
// or the server error it got), or "" when there was no such attempt: the
// last answer is then the whole truth.
func (r *Record) Lost() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i+1 < len(r.errs); i++ {
		if why := mayHaveActed(r.errs[i]); why != "" {
			return why
		}
	}
	return ""
}

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// mayHaveActed says why AWS may have acted on an attempt that ended in
// err, or "" when it did not.
func mayHaveActed(err error) string {
	if err == nil {
		return "an earlier attempt succeeded"
	}
	if throttles.IsErrorThrottle(err) == aws.TrueTernary {
		return "" // throttled: refused before anything was done
	}
	var answered interface{ HTTPStatusCode() int }
	if errors.As(err, &answered) && answered.HTTPStatusCode() != 0 {
		switch status := answered.HTTPStatusCode(); {
		case status >= 500:
			return fmt.Sprintf("an earlier attempt was answered with a server error (HTTP %d)", status)
		case status >= 200 && status < 300:
			return "an earlier attempt's response was lost" // a success whose body did not arrive whole
		}
		return "" // a 4xx: AWS refused the request as sent
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return "" // the connection was never made
	}
	return "an earlier attempt's response was lost"
}
