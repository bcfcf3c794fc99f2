package awsconfig

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// fakeClock is a Clock whose time moves only when a Sleep asks it to: a
// sleep advances it at once by its duration, and is recorded. With block
// set, a sleep instead waits for its context to end (announcing itself on
// sleeping first).
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	slept    []time.Duration
	block    bool
	sleeping chan time.Duration
	onSleep  func() // called (without the lock) as a sleep begins
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock {
	return &fakeClock{now: epoch, sleeping: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if c.onSleep != nil {
		c.onSleep()
	}
	c.mu.Lock()
	c.slept = append(c.slept, d)
	if c.block {
		c.mu.Unlock()
		c.sleeping <- d
		<-ctx.Done()
		return ctx.Err()
	}
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// advance moves the clock by d without a sleep.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) setBlock(b bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.block = b
}

// sleeps is what the clock slept so far, and forgets it.
func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slept
	c.slept = nil
	return s
}

// scripted answers each request with the next of its answers, as STS
// does: "" for a successful GetCallerIdentity, else an error code
// (Throttling with HTTP 400, any other with 503). Past its script it
// succeeds.
type scripted struct {
	mu       sync.Mutex
	answers  []string
	requests int
}

func (s *scripted) Do(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	code := ""
	if s.requests < len(s.answers) {
		code = s.answers[s.requests]
	}
	s.requests++
	s.mu.Unlock()
	if code == "broken" {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	status, body := 200, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/a</Arn><UserId>AIDA</UserId><Account>111111111111</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if code != "" {
		status = 503
		if code == "Throttling" {
			status = 400
		}
		body = `<ErrorResponse><Error><Type>Sender</Type><Code>` + code + `</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// testConfig is a configuration whose requests go to client, with rootctl's
// retryer and p's pacing.
func testConfig(client aws.HTTPClient, p *Pacer) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   client,
		Retryer:      newRetryer,
		APIOptions:   []func(*middleware.Stack) error{p.AddTo},
	}
}

// callSTS makes one GetCallerIdentity call (an STS operation: paced).
func callSTS(ctx context.Context, cfg aws.Config) error {
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	return err
}

// half is a jitter that always draws 0.5.
func half() float64 { return 0.5 }
