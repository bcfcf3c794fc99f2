package orgscan

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// listerWith is a Lister of the demo organization in an emulator started
// with opts, and the management account's configuration.
func listerWith(t *testing.T, opts fixtures.Options) (*Lister, *fixtures.Server, aws.Config) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	creds := srv.ManagementCredentials()
	cfg := simtest.Config(srv, creds)
	l, err := NewLister(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	return l, srv, cfg
}

const (
	mgmt      = "111111111111 management account (AssumeRoot cannot target it)"
	suspended = "444444444404 account is SUSPENDED"
	closing   = "555555555503 account is PENDING_CLOSURE"
)

// Each emits exactly the selected accounts, each with why AssumeRoot cannot
// target it when it cannot, however AWS pages its lists.
func TestEachEmitsTheSelection(t *testing.T) {
	t.Parallel()
	every := []string{mgmt, "222222222201 ", "222222222202 ", "333333333301 ", "333333333302 ", "333333333303 ", "333333333304 ",
		"444444444401 ", "444444444402 ", "444444444403 ", suspended, "444444444405 ", "555555555501 ", "555555555502 ", closing,
		"666666666601 ", "666666666602 ", "888888888801 "}
	tests := []struct {
		name string
		opts fixtures.Options
		sel  Selection
		want []string // in the order emitted
	}{
		{"every account", fixtures.Options{}, Selection{}, every},
		{"every account, in pages of two, some empty", fixtures.Options{PageSize: 2, EmptyFirstPage: true}, Selection{All: true}, every},
		{"every account but two", fixtures.Options{}, Selection{Exclude: []string{"111111111111", "444444444404"}}, slices.DeleteFunc(slices.Clone(every),
			func(s string) bool { return s == mgmt || s == suspended })},
		{"an OU and the OUs under it, in the listing's order", fixtures.Options{}, Selection{OU: "ou-d3m0-prod0001"},
			[]string{"333333333301 ", "333333333302 ", "333333333303 ", "333333333304 "}},
		{"an OU in pages of one", fixtures.Options{PageSize: 1, EmptyFirstPage: true}, Selection{OU: "ou-d3m0-prod0001"},
			[]string{"333333333301 ", "333333333302 ", "333333333303 ", "333333333304 "}},
		{"an OU, by walking the tree when the listing carries no paths (depth first)", fixtures.Options{NoPaths: true}, Selection{OU: "ou-d3m0-prod0001"},
			[]string{"333333333301 ", "333333333302 ", "333333333304 ", "333333333303 "}},
		{"accounts by tag", fixtures.Options{}, Selection{Tags: map[string]string{"team": "web", "env": "prod"}}, []string{"333333333302 ", "333333333304 "}},
		{"an OU and a tag", fixtures.Options{}, Selection{OU: "ou-d3m0-sandbox1", Tags: map[string]string{"env": "sandbox"}},
			[]string{"555555555501 ", "555555555502 ", closing}},
		{"account IDs, once each, an excluded one left out", fixtures.Options{}, Selection{Accounts: []string{"444444444404", "333333333301", "444444444404", "222222222201"}, Exclude: []string{"222222222201"}},
			[]string{suspended, "333333333301 "}},
		{"an account ID outside the organization", fixtures.Options{}, Selection{Accounts: []string{"999999999999"}},
			[]string{"999999999999 not an account of organization o-demo7rootctl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _, _ := listerWith(t, tt.opts)
			var got []string
			err := l.Each(context.Background(), tt.sel, func(tg Target) error {
				got = append(got, tg.ID+" "+tg.Skip)
				return nil
			})
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Each: %v\n%q\nwant\n%q", err, got, tt.want)
			}
		})
	}
}

// A listing AWS refuses, or an emit that fails, ends Each with that error.
func TestEachStopsAtTheFirstError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	tests := []struct {
		name     string
		opts     fixtures.Options
		sel      Selection
		emitErr  error
		wantCode string
		wantErr  error
		wantN    int // accounts emitted
	}{
		{"ListAccounts refused", fixtures.Options{OpFaults: map[string]string{"organizations:ListAccounts": "AccessDeniedException"}}, Selection{}, nil, "AccessDeniedException", nil, 0},
		{"ListTagsForResource refused", fixtures.Options{OpFaults: map[string]string{"organizations:ListTagsForResource": "AccessDeniedException"}},
			Selection{Tags: map[string]string{"env": "prod"}}, nil, "AccessDeniedException", nil, 0},
		{"an OU that is not there", fixtures.Options{}, Selection{OU: "ou-d3m0-nothere1"}, nil, "", ErrUnknownOU, 0},
		{"the work stops the listing", fixtures.Options{}, Selection{}, stop, "", stop, 1},
		{"the work stops a listing by ID", fixtures.Options{}, Selection{Accounts: []string{"333333333301", "999999999999"}}, stop, "", stop, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _, _ := listerWith(t, tt.opts)
			n := 0
			err := l.Each(context.Background(), tt.sel, func(Target) error { n++; return tt.emitErr })
			if err == nil || awserr.Code(err) != tt.wantCode || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || n != tt.wantN {
				t.Fatalf("Each: %v after %d accounts; want %q / %v after %d", err, n, tt.wantCode, tt.wantErr, tt.wantN)
			}
		})
	}
}

// TestTheNextPageIsAskedForFirst: the request for the listing's next page
// goes out while the accounts of a page are worked on, one page ahead and
// no more.
func TestTheNextPageIsAskedForFirst(t *testing.T) {
	t.Parallel()
	var pages atomic.Int32
	second := make(chan struct{})
	l, _, _ := listerWith(t, fixtures.Options{PageSize: 2, OnCall: func(c fixtures.Call) {
		if c.Operation == "ListAccounts" && pages.Add(1) == 2 {
			close(second)
		}
	}})
	stop := errors.New("stop")
	err := l.Each(context.Background(), Selection{}, func(Target) error {
		select {
		case <-second:
		case <-time.After(5 * time.Second):
			t.Error("the next page was not asked for while the first page's account was worked on")
		}
		time.Sleep(50 * time.Millisecond) // time for a page too many to be asked for
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Each: %v, want the work's error", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := pages.Load(); n != 2 {
		t.Fatalf("%d ListAccounts pages asked for, want 2: the one worked on and the next", n)
	}
}

// TestAListingCutShortIsNotComplete: a run interrupted while the next page
// waits to be worked on ends Each with the interruption, never as if the
// listing had ended. The interruption and the waiting page race inside
// Each, so the test runs it several times.
func TestAListingCutShortIsNotComplete(t *testing.T) {
	t.Parallel()
	for range 8 {
		second := make(chan struct{})
		var pages atomic.Int32
		l, _, _ := listerWith(t, fixtures.Options{PageSize: 2, OnCall: func(c fixtures.Call) {
			if c.Operation == "ListAccounts" && pages.Add(1) == 2 {
				close(second)
			}
		}})
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err := l.Each(ctx, Selection{}, func(Target) error {
			if n++; n == 1 {
				<-second
				time.Sleep(100 * time.Millisecond) // the next page has arrived, and waits
				cancel()
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Each after %d accounts: %v, want the cancellation", n, err)
		}
	}
}

// Describe and MemberState read one account as it is now.
func TestDescribeAndMemberState(t *testing.T) {
	t.Parallel()
	l, srv, cfg := listerWith(t, fixtures.Options{})
	if l.Org != (Organization{ID: "o-demo7rootctl", ManagementAccount: "111111111111", FeatureSet: "ALL"}) {
		t.Fatalf("organization %+v", l.Org)
	}
	c := organizations.NewFromConfig(cfg)
	tests := []struct {
		name      string
		id        string
		wantSkip  string
		wantState string
		member    bool
		wantErr   string
	}{
		{"an active member", "333333333301", "", "ACTIVE", true, ""},
		{"a suspended member", "444444444404", "account is SUSPENDED", "SUSPENDED", true, ""},
		{"the management account", "111111111111", "management account (AssumeRoot cannot target it)", "ACTIVE", true, ""},
		{"not a member", "999999999999", "", "", false, "account 999999999999: not an account of this organization o-demo7rootctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := l.Describe(context.Background(), tt.id)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrNotMember) {
					t.Fatalf("Describe: %+v, %v; want %q", tg, err, tt.wantErr)
				}
			} else if err != nil || tg.ID != tt.id || tg.Skip != tt.wantSkip || tg.State != tt.wantState {
				t.Fatalf("Describe: %+v, %v", tg, err)
			}
			state, member, err := MemberState(context.Background(), c, tt.id)
			if err != nil || state != tt.wantState || member != tt.member {
				t.Fatalf("MemberState: %q, %v, %v", state, member, err)
			}
		})
	}
	// One DescribeAccount for each Describe and each MemberState; the OU
	// names of the paths are read once for the whole run.
	describes, naming := 0, 0
	for _, op := range operations(srv) {
		switch op {
		case "DescribeAccount":
			describes++
		case "ListRoots", "ListOrganizationalUnitsForParent":
			naming++
		default:
			t.Errorf("unexpected call %s", op)
		}
	}
	if describes != 2*len(tests) || naming > 2 {
		t.Fatalf("calls %q: want one DescribeAccount each, and the OU names read once", operations(srv))
	}
}
