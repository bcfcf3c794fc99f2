package orgscan

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// demoLister is a Lister of the demo organization in an emulator.
func demoLister(t *testing.T) (*Lister, *fixtures.Server) {
	t.Helper()
	return demoListerWith(t, fixtures.Options{})
}

// demoListerWith is demoLister with an emulator tuned by opts.
func demoListerWith(t *testing.T, opts fixtures.Options) (*Lister, *fixtures.Server) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	return listerOf(t, srv), srv
}

// listerOf is a Lister of srv's organization, by its management account;
// the calls it made to describe the organization are forgotten.
func listerOf(t *testing.T, srv *fixtures.Server) *Lister {
	t.Helper()
	creds := srv.ManagementCredentials()
	cfg := simtest.Config(srv, creds)
	l, err := NewLister(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	return l
}

func operations(srv *fixtures.Server) []string {
	var ops []string
	for _, c := range srv.Calls() {
		ops = append(ops, c.Operation)
	}
	return ops
}

// TestCheck: a selection naming what the organization does not have is
// refused before any account is emitted; the accounts Check described are
// not described again by Each.
func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sel     Selection
		wantErr error
		wantID  string // the ID a NotMemberError names
	}{
		{"member accounts", Selection{Accounts: []string{"333333333301", "111111111111"}}, nil, ""},
		{"an ID outside the organization after a member", Selection{Accounts: []string{"333333333301", "999999999999"}}, ErrNotMember, "999999999999"},
		{"an excluded ID outside the organization", Selection{Accounts: []string{"333333333301", "999999999999"}, Exclude: []string{"999999999999"}}, ErrNotMember, "999999999999"},
		{"an OU", Selection{OU: "ou-d3m0-prod0001"}, nil, ""},
		{"a root", Selection{OU: "r-d3m0"}, nil, ""},
		{"an OU that is not there", Selection{OU: "ou-d3m0-nothere1"}, ErrUnknownOU, ""},
		{"every account", Selection{All: true}, nil, ""},
		{"every account but a member", Selection{All: true, Exclude: []string{"333333333301"}}, nil, ""},
		{"every account but an ID outside the organization (a mistyped exclusion)", Selection{All: true, Exclude: []string{"333333333310"}}, ErrNotMember, "333333333310"},
		{"an OU but an ID outside the organization", Selection{OU: "ou-d3m0-prod0001", Exclude: []string{"999999999999"}}, ErrNotMember, "999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, srv := demoLister(t)
			err := l.Check(context.Background(), tt.sel)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Check: %v, want %v", err, tt.wantErr)
			}
			var nm *NotMemberError
			if tt.wantID != "" && (!errors.As(err, &nm) || nm.ID != tt.wantID || nm.Organization != "o-demo7rootctl") {
				t.Fatalf("Check: %v, want a NotMemberError for %s", err, tt.wantID)
			}
			if got, want := slices.Index(operations(srv), "DescribeAccount") >= 0, len(tt.sel.Accounts)+len(tt.sel.Exclude) > 0; got != want {
				t.Fatalf("calls %q", operations(srv))
			}
		})
	}
}

func TestEachUsesTheAccountsCheckDescribed(t *testing.T) {
	t.Parallel()
	l, srv := demoLister(t)
	sel := Selection{Accounts: []string{"333333333301", "444444444404"}}
	if err := l.Check(context.Background(), sel); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	var got []string
	err := l.Each(context.Background(), sel, func(tg Target) error {
		got = append(got, tg.ID+" "+tg.Skip)
		return nil
	})
	if want := []string{"333333333301 ", "444444444404 account is SUSPENDED"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Each: %q, %v; want %q", got, err, want)
	}
	if ops := operations(srv); slices.Contains(ops, "DescribeAccount") {
		t.Fatalf("Each called %q after Check", ops)
	}
}

func TestSelectionAllExcludesTheOthers(t *testing.T) {
	t.Parallel()
	for _, sel := range []Selection{
		{All: true, Accounts: []string{"333333333301"}},
		{All: true, OU: "ou-d3m0-prod0001"},
		{All: true, Tags: map[string]string{"env": "prod"}},
	} {
		if err := sel.Validate(); err == nil {
			t.Errorf("%+v: valid", sel)
		}
	}
	if err := (Selection{All: true, Exclude: []string{"333333333301"}}).Validate(); err != nil {
		t.Errorf("All with Exclude: %v", err)
	}
	for _, tt := range []struct {
		sel  Selection
		want bool
	}{
		{Selection{}, false}, {Selection{Exclude: []string{"333333333301"}}, false}, {Selection{All: true}, true},
		{Selection{Accounts: []string{"333333333301"}}, true}, {Selection{OU: "r-d3m0"}, true}, {Selection{Tags: map[string]string{"a": "b"}}, true},
	} {
		if got := tt.sel.Explicit(); got != tt.want {
			t.Errorf("%+v.Explicit() = %v", tt.sel, got)
		}
	}
}

func TestSelectionValidate(t *testing.T) {
	tests := []struct {
		sel  Selection
		okay bool
	}{
		{Selection{}, true},
		{Selection{Accounts: []string{"123456789012"}, Exclude: []string{"210987654321"}}, true},
		{Selection{OU: "ou-ab12-cdef3456"}, true},
		{Selection{OU: "r-ab12"}, true},
		{Selection{Accounts: []string{"1234567890123"}}, false},
		{Selection{Exclude: []string{"x"}}, false},
		{Selection{OU: "ou-AB12-cdef3456"}, false},
		{Selection{Tags: map[string]string{"": "v"}}, false},
	}
	for _, tt := range tests {
		if err := tt.sel.Validate(); (err == nil) != tt.okay {
			t.Errorf("Validate(%+v) = %v", tt.sel, err)
		}
	}
}
