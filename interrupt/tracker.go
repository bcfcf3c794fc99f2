// Package interrupt makes a rootctl run stoppable, and never silently: the
// first SIGINT, SIGTERM or SIGHUP cancels the run's context, so that no new
// step starts while the calls already sent finish and are reported; the
// second ends the process at once, after saying which AWS calls were still
// in flight, whose outcome is then unknown. A Tracker, fed by a middleware
// that every AWS client of the run carries, knows those calls.
package interrupt

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Call is one AWS call in flight.
type Call struct {
	Service   string    // iam, s3, sts, …
	Operation string    // DeleteAccessKey
	Target    string    // what the call acts on (an access key ID, a bucket), or ""
	Account   string    // the member account of a root session, or ""
	Started   time.Time // when the call began, retries included
}

// String renders the call as in "iam:DeleteAccessKey AKIA… in
// 333333333301". A target comes from AWS (a listed key ID, say): anything
// unprintable in it is shown as "?", so that it cannot drive the terminal.
func (c Call) String() string {
	s := c.Service + ":" + c.Operation
	if c.Target != "" {
		s += " " + printable(c.Target)
	}
	if c.Account != "" {
		s += " in " + printable(c.Account)
	}
	return s
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// Tracker knows the AWS calls in flight. Its zero value is not usable;
// make one with NewTracker.
type Tracker struct {
	now func() time.Time

	mu    sync.Mutex
	next  uint64
	calls map[uint64]Call
}

// NewTracker returns a tracker that times calls with now (time.Now if nil).
func NewTracker(now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{now: now, calls: map[uint64]Call{}}
}

// Begin records c as in flight from now on, and returns the function that
// records its end.
func (t *Tracker) Begin(c Call) (end func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Started = t.now()
	t.next++
	id := t.next
	t.calls[id] = c
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.calls, id)
	}
}

// InFlight returns the calls in flight, oldest first.
func (t *Tracker) InFlight() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Call, 0, len(t.calls))
	for _, c := range t.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].String() < out[j].String()
	})
	return out
}

// Describe renders the calls in flight, one per line, each with how long
// ago it was sent: "iam:DeleteAccessKey AKIA… in 333333333301 (sent 2.1s
// ago)".
func (t *Tracker) Describe() []string {
	now := t.now()
	var lines []string
	for _, c := range t.InFlight() {
		lines = append(lines, fmt.Sprintf("%s (sent %v ago)", c, now.Sub(c.Started).Round(100*time.Millisecond)))
	}
	return lines
}

type trackerKey struct{}

// WithTracker returns a context whose AWS calls t tracks (through the
// middleware Track installs).
func WithTracker(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, trackerKey{}, t)
}

// TrackerFrom returns the tracker of ctx, or nil.
func TrackerFrom(ctx context.Context) *Tracker {
	t, _ := ctx.Value(trackerKey{}).(*Tracker)
	return t
}

// Track is an aws.Config APIOptions entry: every call made with the
// config is recorded, while it is in flight, in the tracker of the call's
// context (contexts without one are not tracked).
func Track(stack *middleware.Stack) error {
	return stack.Initialize.Add(trackMiddleware{}, middleware.After)
}

// Account is an aws.Config APIOptions entry for a root session's config:
// its calls are tracked as made in account.
func Account(account string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("rootctl.InFlightAccount",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(middleware.WithStackValue(ctx, accountKey{}, account), in)
			}), middleware.Before)
	}
}

type accountKey struct{}

type trackMiddleware struct{}

func (trackMiddleware) ID() string { return "rootctl.InFlight" }

func (trackMiddleware) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	t := TrackerFrom(ctx)
	if t == nil {
		return next.HandleInitialize(ctx, in)
	}
	c := Call{
		Service:   strings.ToLower(strings.ReplaceAll(awsmiddleware.GetServiceID(ctx), " ", "")),
		Operation: awsmiddleware.GetOperationName(ctx),
	}
	c.Account, _ = middleware.GetStackValue(ctx, accountKey{}).(string)
	target, principal := targetOf(in.Parameters)
	c.Target = target
	if c.Account == "" {
		c.Account = principal
	}
	defer t.Begin(c)()
	return next.HandleInitialize(ctx, in)
}

// targetFields are the input fields that name what a call acts on, in the
// order they are looked for. None of them holds a secret.
var targetFields = []string{"AccessKeyId", "CertificateId", "SerialNumber", "Bucket", "QueueUrl"}

// targetOf returns what params (an SDK input struct) acts on, and the
// account an AssumeRoot targets.
func targetOf(params any) (target, account string) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", ""
	}
	v = v.Elem()
	str := func(name string) string {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
			return ""
		}
		return f.Elem().String()
	}
	for _, name := range targetFields {
		if s := str(name); s != "" {
			if name == "QueueUrl" {
				if u, err := url.Parse(s); err == nil && u.Path != "" {
					s = path.Base(u.Path)
				}
			}
			target = s
			break
		}
	}
	return target, str("TargetPrincipal")
}
