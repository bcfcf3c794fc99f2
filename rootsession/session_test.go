package rootsession

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// emulator starts the demo organization with opts and returns it and the
// management account's configuration.
func emulator(t *testing.T, opts fixtures.Options) (*fixtures.Server, aws.Config) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	c := srv.ManagementCredentials()
	return srv, simtest.Config(srv, c)
}

func TestAssumerRecordsAheadAndFailsClosed(t *testing.T) {
	t.Parallel()
	full := errors.New("writing the audit log: no space left on device")
	tests := []struct {
		name             string
		before, after    error
		wantErr          string // "" for a session
		wantAssumeCalled bool
	}{
		{"both records written: a session", nil, nil, "", true},
		{"the record ahead fails: AssumeRoot is not called", full, nil,
			"AssumeRoot IAMAuditRootUserCredentials not called, as its record could not be written: writing the audit log: no space left on device", false},
		{"the outcome's record fails: the session is not handed out", nil, full,
			"the root session AssumeRoot IAMAuditRootUserCredentials issued is not used, as its record could not be written: writing the audit log: no space left on device", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var events []string
			note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
			srv, base := emulator(t, fixtures.Options{Hold: func(_ context.Context, c fixtures.Call) {
				if c.Operation == "AssumeRoot" {
					note("AWS receives AssumeRoot")
				}
			}})
			a := NewAssumer(base)
			a.BeforeAssume = func(account string, task Task) error {
				note("before " + account + " " + task.Name)
				return tt.before
			}
			a.OnAssume = func(account string, task Task, s *Session, err error) error {
				note("after " + account + " " + task.Name)
				return tt.after
			}
			s, err := a.Assume(context.Background(), "444444444405", Audit, 0)
			switch {
			case tt.wantErr == "" && (err != nil || s == nil || s.AccessKeyID == ""):
				t.Fatalf("Assume: %v, %+v", err, s)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrNotRecorded) || !errors.Is(err, full) || s != nil):
				t.Fatalf("Assume: %v, session %v; want %q wrapping ErrNotRecorded", err, s, tt.wantErr)
			}
			want := []string{"before 444444444405 IAMAuditRootUserCredentials"}
			if tt.wantAssumeCalled {
				want = append(want, "AWS receives AssumeRoot", "after 444444444405 IAMAuditRootUserCredentials")
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(events, want) {
				t.Fatalf("events %q, want %q", events, want)
			}
			if n := len(srv.Calls()); tt.wantAssumeCalled != (n == 1) {
				t.Fatalf("%d calls, AssumeRoot called: want %v", n, tt.wantAssumeCalled)
			}
		})
	}
}
