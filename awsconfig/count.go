package awsconfig

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// RequestCounts counts the HTTP requests of the calls made with a
// configuration (CountRequests): what a run cost AWS, retries included.
type RequestCounts struct {
	requests, throttled, retries atomic.Int64
}

// Requests is how many requests were sent: every attempt of every call.
func (c *RequestCounts) Requests() int { return int(c.requests.Load()) }

// Throttled is how many of them AWS answered with a throttling error.
func (c *RequestCounts) Throttled() int { return int(c.throttled.Load()) }

// Retries is how many of them were a call's second or later attempt.
func (c *RequestCounts) Retries() int { return int(c.retries.Load()) }

type countKey struct{}

// CountRequests counts every attempt of every call made with cfg from now
// on, by a middleware at the end of the SDK's Finalize step, after the
// retry loop and every wait: one count per request sent.
func CountRequests(cfg *aws.Config) *RequestCounts {
	c := &RequestCounts{}
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(stack *middleware.Stack) error {
		call := middleware.FinalizeMiddlewareFunc("rootctl.CountCall", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			return next.HandleFinalize(middleware.WithStackValue(ctx, countKey{}, new(int)), in)
		})
		if err := stack.Finalize.Add(call, middleware.Before); err != nil {
			return err
		}
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("rootctl.CountAttempt", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.requests.Add(1)
			if n, ok := middleware.GetStackValue(ctx, countKey{}).(*int); ok {
				if *n++; *n > 1 {
					c.retries.Add(1)
				}
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if isThrottle(err) {
				c.throttled.Add(1)
			}
			return out, md, err
		}), middleware.After)
	})
	return c
}
