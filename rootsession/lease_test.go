package rootsession

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/fixtures"
)

// fakeClock is the time a test sets, for the Assumer's Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// answered lists the emulator's calls as "Operation Code", skipping the
// refusals of a request signed too far from the emulator's clock (which
// the SDK corrects and sends again): they are the SDK's, not rootctl's.
func answered(srv *fixtures.Server) []string {
	var out []string
	for _, c := range srv.Calls() {
		if c.Code == "SignatureDoesNotMatch" {
			continue
		}
		out = append(out, c.Operation+" "+c.Code)
	}
	return out
}

// A lease reuses its session while at least RenewBefore of it is left, and
// assumes a new one when less is left: the boundary, pinned both sides.
func TestLeaseRenewsWhenLessThanRenewBeforeIsLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		left        time.Duration // of the first session, when the second step asks
		wantRenewed bool
	}{
		{"a session with RenewBefore and a nanosecond left is reused", RenewBefore + time.Nanosecond, false},
		{"a session with exactly RenewBefore left is reused", RenewBefore, false},
		{"a session with a nanosecond less than RenewBefore left is renewed", RenewBefore - time.Nanosecond, true},
		{"an expired session is renewed", -time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, base := emulator(t, fixtures.Options{})
			a := NewAssumer(base)
			clock := &fakeClock{now: srv.Now()}
			a.Clock = clock.Now
			l := a.Lease("444444444405", Audit)
			if l.KeyID() != "" || l.Assumed() != 0 || len(srv.Calls()) != 0 {
				t.Fatalf("a new lease assumed: key %q, %d assumed, calls %q", l.KeyID(), l.Assumed(), answered(srv))
			}
			first, err := l.Session(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if first.Account != "444444444405" || first.Task != Audit || l.KeyID() != first.AccessKeyID || first.Expires.Sub(srv.Now()) > MaxDuration {
				t.Fatalf("first session %+v, lease key %q", first, l.KeyID())
			}
			clock.Set(first.Expires.Add(-tt.left))
			second, err := l.Session(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantAssumed, wantCalls := 1, []string{"AssumeRoot "}
			if tt.wantRenewed {
				wantAssumed, wantCalls = 2, []string{"AssumeRoot ", "AssumeRoot "}
			}
			if renewed := second != first; renewed != tt.wantRenewed || (second.AccessKeyID == first.AccessKeyID) == tt.wantRenewed {
				t.Fatalf("renewed %v (keys %s, %s), want %v", renewed, first.AccessKeyID, second.AccessKeyID, tt.wantRenewed)
			}
			if got := answered(srv); l.Assumed() != wantAssumed || !slices.Equal(got, wantCalls) || l.KeyID() != second.AccessKeyID {
				t.Fatalf("%d assumed, calls %q, key %q; want %d, %q, %q", l.Assumed(), got, l.KeyID(), wantAssumed, wantCalls, second.AccessKeyID)
			}
		})
	}
}

// Do sends a step again, once, with a new session when AWS answers
// ExpiredToken (AWS's clock is ahead of ours): a second ExpiredToken is
// the step's answer.
func TestLeaseDoRetriesAnExpiredTokenOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		leaps     int // AWS's clock leaps past the session before this many sends
		wantCode  string
		wantSteps int
		wantCalls []string
	}{
		{"a step answered", 0, "", 1, []string{"AssumeRoot ", "GetCallerIdentity "}},
		{"a step answered ExpiredToken is sent again with a new session", 1, "", 2,
			[]string{"AssumeRoot ", "GetCallerIdentity ExpiredToken", "AssumeRoot ", "GetCallerIdentity "}},
		{"a second ExpiredToken is returned, not retried", 2, "ExpiredToken", 2,
			[]string{"AssumeRoot ", "GetCallerIdentity ExpiredToken", "AssumeRoot ", "GetCallerIdentity ExpiredToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, base := emulator(t, fixtures.Options{})
			// The SDK sends a request refused for the clock's leap again at
			// once, with its clock corrected.
			base.Retryer = func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
			}
			a := NewAssumer(base)
			l := a.Lease("444444444405", Audit)
			var keys []string
			err := l.Do(context.Background(), func(cfg aws.Config) error {
				keys = append(keys, l.KeyID())
				if len(keys) <= tt.leaps {
					srv.Advance(16 * time.Minute) // AWS's clock leaps past the session; ours does not
				}
				out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
				if err == nil && aws.ToString(out.Account) != "444444444405" {
					t.Errorf("the step ran as %s", aws.ToString(out.Account))
				}
				return err
			})
			if awserr.Code(err) != tt.wantCode || (err == nil) != (tt.wantCode == "") {
				t.Fatalf("Do: %v, want code %q", err, tt.wantCode)
			}
			if len(keys) != tt.wantSteps || l.Assumed() != tt.wantSteps {
				t.Fatalf("%d steps with %d sessions, want %d of each", len(keys), l.Assumed(), tt.wantSteps)
			}
			if len(keys) == 2 && keys[0] == keys[1] {
				t.Fatalf("the step was sent again with the expired session %s", keys[0])
			}
			if got := answered(srv); !slices.Equal(got, tt.wantCalls) {
				t.Fatalf("calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// A step that fails with anything but ExpiredToken is not sent again, and
// a lease whose AssumeRoot fails runs no step.
func TestLeaseDoSendsOtherFailuresOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      fixtures.Options
		wantCode  string
		wantSteps int
		wantCalls []string
	}{
		{"a step refused as AccessDenied", fixtures.Options{OpFaults: map[string]string{"sts:GetCallerIdentity": "AccessDenied"}}, "AccessDenied", 1,
			[]string{"AssumeRoot ", "GetCallerIdentity AccessDenied"}},
		{"AssumeRoot refused: no step", fixtures.Options{AssumeRootFaults: map[string]string{"444444444405": "AccessDenied"}}, "AccessDenied", 0,
			[]string{"AssumeRoot AccessDenied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, base := emulator(t, tt.opts)
			l := NewAssumer(base).Lease("444444444405", Audit)
			steps := 0
			err := l.Do(context.Background(), func(cfg aws.Config) error {
				steps++
				_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
				return err
			})
			if awserr.Code(err) != tt.wantCode || steps != tt.wantSteps {
				t.Fatalf("Do: %v after %d steps, want %s after %d", err, steps, tt.wantCode, tt.wantSteps)
			}
			if got := answered(srv); !slices.Equal(got, tt.wantCalls) {
				t.Fatalf("calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}
