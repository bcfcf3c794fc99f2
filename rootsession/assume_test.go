package rootsession

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootctl/rootctl/fixtures"
)

// What Assume can refuse itself is refused before any call.
func TestAssumeRefusesBadInputWithoutACall(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		account  string
		duration time.Duration
		wantErr  string
	}{
		{"an account ID of 4 digits", context.Background(), "4444", 0, `account ID "4444": want 12 digits`},
		{"a duration over 15 minutes", context.Background(), "444444444405", MaxDuration + time.Second, "session duration 15m1s: want at most 15m0s (AssumeRoot's limit)"},
		{"a negative duration", context.Background(), "444444444405", -time.Second, "session duration -1s: want at most 15m0s (AssumeRoot's limit)"},
		{"an interrupted run", cancelled, "444444444405", 0, "AssumeRoot IAMAuditRootUserCredentials not called: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, base := emulator(t, fixtures.Options{})
			a := NewAssumer(base)
			recorded := false
			a.BeforeAssume = func(string, Task) error { recorded = true; return nil }
			s, err := a.Assume(tt.ctx, tt.account, Audit, tt.duration)
			if s != nil || err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Assume: %v, %v; want %q", s, err, tt.wantErr)
			}
			if n := len(srv.Calls()); n != 0 || recorded {
				t.Fatalf("%d calls, recorded %v: want none", n, recorded)
			}
		})
	}
}

// A session acts as the member account's root user for its task, until
// the expiry AWS gave.
func TestAssumeIssuesASessionForOneAccountAndTask(t *testing.T) {
	t.Parallel()
	srv, base := emulator(t, fixtures.Options{})
	a := NewAssumer(base)
	var outcomes []string
	a.OnAssume = func(account string, task Task, s *Session, err error) error {
		outcomes = append(outcomes, account+" "+task.Name+" "+s.AccessKeyID)
		return nil
	}
	s, err := a.Assume(context.Background(), "444444444402", S3Unlock, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Account != "444444444402" || s.Task != S3Unlock || s.RequestID == "" || s.AccessKeyID[:4] != "ASIA" {
		t.Fatalf("session %+v", s)
	}
	if left := s.Expires.Sub(srv.Now()); left > 5*time.Minute || left < 4*time.Minute {
		t.Fatalf("session expires in %v, want the 5 minutes asked", left)
	}
	creds, err := s.Credentials(context.Background())
	if err != nil || creds.AccessKeyID != s.AccessKeyID || creds.SessionToken == "" {
		t.Fatalf("credentials %v, %v", creds.AccessKeyID, err)
	}
	if want := []string{"444444444402 S3UnlockBucketPolicy " + s.AccessKeyID}; !slices.Equal(outcomes, want) {
		t.Fatalf("OnAssume told %q, want %q", outcomes, want)
	}
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Operation != "AssumeRoot" || calls[0].Code != "" {
		t.Fatalf("calls %+v", calls)
	}
}

// A refusal every account would get halts the Assumer: the accounts after
// it get the same error without a call to AWS. A refusal of one account
// is that account's.
func TestAssumeHaltsOnlyOnARefusalOfTheOrganization(t *testing.T) {
	t.Parallel()
	missing := []Fix{{Missing: "the RootSessions feature", Command: "rootctl enable --root-sessions"}}
	tests := []struct {
		name string
		// setup changes the emulator and the Assumer's base configuration,
		// and says what the organization is missing.
		setup         func(srv *fixtures.Server, base *aws.Config) func(context.Context, Task) ([]Fix, error)
		wantErr       string
		wantHalted    bool
		wantHint      string
		wantSecondErr string // the next account's error
		wantCalls     int
	}{
		{"a feature turned off, with the prerequisite missing", func(srv *fixtures.Server, _ *aws.Config) func(context.Context, Task) ([]Fix, error) {
			srv.Update(func(o *fixtures.Org) { o.Features = []string{fixtures.FeatureRootCredentialsManagement} })
			return func(context.Context, Task) ([]Fix, error) { return missing, nil }
		}, "AssumeRoot is refused for every account, so the run stopped; missing: the RootSessions feature (run: rootctl enable --root-sessions)", true, "",
			"AssumeRoot is refused for every account, so the run stopped; missing: the RootSessions feature (run: rootctl enable --root-sessions)", 1},
		{"one account denied, nothing missing", func(*fixtures.Server, *aws.Config) func(context.Context, Task) ([]Fix, error) {
			return func(context.Context, Task) ([]Fix, error) { return nil, nil }
		}, "AssumeRoot S3UnlockBucketPolicy: AccessDenied: User: arn:aws:iam::111111111111:user/rootctl-operator is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::444444444402:root (injected by the simulator) (the caller must be the management account or the IAM delegated administrator and allowed sts:AssumeRoot, no SCP may deny it, and the target must be an ACTIVE member account; check: rootctl status)",
			false, "check: rootctl status", "", 2},
		{"the caller's secret is wrong", func(srv *fixtures.Server, base *aws.Config) func(context.Context, Task) ([]Fix, error) {
			base.Credentials = credentials.NewStaticCredentialsProvider(srv.ManagementCredentials().AccessKeyID, "wrong", "")
			return nil
		}, "AssumeRoot is refused for every account, so the run stopped; missing: valid credentials for the caller (STS answered SignatureDoesNotMatch) (run: aws sso login, or check --profile)", true, "",
			"AssumeRoot is refused for every account, so the run stopped; missing: valid credentials for the caller (STS answered SignatureDoesNotMatch) (run: aws sso login, or check --profile)", 1},
		{"the global STS endpoint", func(srv *fixtures.Server, base *aws.Config) func(context.Context, Task) ([]Fix, error) {
			base.BaseEndpoint = aws.String(srv.GlobalSTSURL())
			return nil
		}, "AssumeRoot is refused for every account, so the run stopped; missing: a Regional STS endpoint (the global one refuses AssumeRoot) (run: rootctl with --region REGION)", true, "",
			"AssumeRoot is refused for every account, so the run stopped; missing: a Regional STS endpoint (the global one refuses AssumeRoot) (run: rootctl with --region REGION)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, base := emulator(t, fixtures.Options{AssumeRootFaults: map[string]string{"444444444402": "AccessDenied"}})
			prerequisites := tt.setup(srv, &base)
			a := NewAssumer(base)
			a.Prerequisites = prerequisites
			_, err := a.Assume(context.Background(), "444444444402", S3Unlock, 0)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Assume: %v\nwant %s", err, tt.wantErr)
			}
			var ae *AssumeError
			if tt.wantHint != "" && (!errors.As(err, &ae) || Describe(err) != tt.wantErr) {
				t.Fatalf("Assume: %v, want an AssumeError that Describe renders whole", err)
			}
			if (a.Halted() != nil) != tt.wantHalted {
				t.Fatalf("halted %v, want %v", a.Halted(), tt.wantHalted)
			}
			_, err = a.Assume(context.Background(), "444444444405", S3Unlock, 0)
			if tt.wantSecondErr != "" && (err == nil || err.Error() != tt.wantSecondErr || !errors.As(err, new(*OrgError))) {
				t.Fatalf("the next account: %v, want %s", err, tt.wantSecondErr)
			}
			if tt.wantSecondErr == "" && err != nil {
				t.Fatalf("the next account: %v, want a session", err)
			}
			if n := len(srv.Calls()); n != tt.wantCalls {
				t.Fatalf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}
