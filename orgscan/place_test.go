package orgscan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
)

// demoPaths is where each account of the demo organization sits: its OU
// path by name, then by ID.
var demoPaths = map[string]string{
	"111111111111": "Root r-d3m0",
	"222222222201": "Root/Security r-d3m0/ou-d3m0-security",
	"222222222202": "Root/Security r-d3m0/ou-d3m0-security",
	"333333333301": "Root/Production r-d3m0/ou-d3m0-prod0001",
	"333333333302": "Root/Production r-d3m0/ou-d3m0-prod0001",
	"333333333303": "Root/Production/Production-EU r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01",
	"333333333304": "Root/Production r-d3m0/ou-d3m0-prod0001",
	"444444444401": "Root/Development r-d3m0/ou-d3m0-dev00001",
	"444444444402": "Root/Development r-d3m0/ou-d3m0-dev00001",
	"444444444403": "Root/Development r-d3m0/ou-d3m0-dev00001",
	"444444444404": "Root/Development r-d3m0/ou-d3m0-dev00001",
	"444444444405": "Root/Development r-d3m0/ou-d3m0-dev00001",
	"555555555501": "Root/Sandbox r-d3m0/ou-d3m0-sandbox1",
	"555555555502": "Root/Sandbox r-d3m0/ou-d3m0-sandbox1",
	"555555555503": "Root/Sandbox r-d3m0/ou-d3m0-sandbox1",
	"666666666601": "Root/Legacy r-d3m0/ou-d3m0-legacy01",
	"666666666602": "Root/Legacy r-d3m0/ou-d3m0-legacy01",
	"888888888801": "Root/Restricted-Data r-d3m0/ou-d3m0-restrict",
}

// placed lists what Each passes, each account's ID and OU path IDs, and
// the OU path Name then gives it, in the order passed. Each passes no
// names: they are Name's.
func placed(t *testing.T, l *Lister, sel Selection) []string {
	t.Helper()
	var targets []Target
	err := l.Each(context.Background(), sel, func(tg Target) error {
		if tg.OUPath != "" {
			t.Errorf("Each passed %s with its OU path %q: names are Name's, not the listing's", tg.ID, tg.OUPath)
		}
		targets = append(targets, tg)
		return nil
	})
	if err != nil {
		t.Fatalf("Each(%+v): %v", sel, err)
	}
	var got []string
	for _, tg := range targets {
		l.Name(context.Background(), &tg.Account)
		got = append(got, tg.ID+" "+tg.OUPath+" "+tg.OUPathIDs)
	}
	return got
}

func demoOrg(t *testing.T) *fixtures.Org {
	t.Helper()
	org, err := fixtures.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func count(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// TestEachGivesEveryAccountItsOUPath: every account of the demo
// organization comes with its OU path, by name and by ID, whether
// Organizations answers Account.Paths or the tree must be walked; the OU
// names cost one ListRoots and one listing of each parent on the paths
// (the root, and Production for Production-EU), never more.
func TestEachGivesEveryAccountItsOUPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts fixtures.Options
		sel  Selection
		ops  map[string]int // Organizations calls by operation
	}{
		{"every account, with Paths", fixtures.Options{}, Selection{},
			map[string]int{"ListAccounts": 1, "ListRoots": 1, "ListOrganizationalUnitsForParent": 2}},
		{"every account, with Paths, one account per page", fixtures.Options{PageSize: 1, EmptyFirstPage: true}, Selection{},
			// an empty page, then a page per account, root or OU
			map[string]int{"ListAccounts": 19, "ListRoots": 2, "ListOrganizationalUnitsForParent": 7 + 2}},
		{"every account, without Paths: one walk of the tree", fixtures.Options{NoPaths: true}, Selection{},
			map[string]int{"ListAccounts": 1, "ListRoots": 1, "ListOrganizationalUnitsForParent": 8, "ListAccountsForParent": 8}},
		{"account IDs, with Paths", fixtures.Options{}, Selection{Accounts: []string{"333333333303", "555555555501"}},
			map[string]int{"DescribeAccount": 2, "ListRoots": 1, "ListOrganizationalUnitsForParent": 2}},
		{"account IDs, without Paths", fixtures.Options{NoPaths: true}, Selection{Accounts: []string{"333333333303", "555555555501"}},
			map[string]int{"DescribeAccount": 2, "ListRoots": 1, "ListOrganizationalUnitsForParent": 8, "ListAccountsForParent": 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, srv := demoListerWith(t, tt.opts)
			got := placed(t, l, tt.sel)
			var want []string
			for _, id := range tt.sel.Accounts {
				want = append(want, id+" "+demoPaths[id])
			}
			if len(tt.sel.Accounts) == 0 {
				for _, a := range demoOrg(t).Accounts {
					want = append(want, a.ID+" "+demoPaths[a.ID])
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Each passed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			ops := operations(srv)
			for op, n := range tt.ops {
				if count(ops, op) != n {
					t.Errorf("%d %s calls, want %d: %q", count(ops, op), op, n, ops)
				}
			}
			if len(ops) != func() (n int) {
				for _, c := range tt.ops {
					n += c
				}
				return n
			}() {
				t.Errorf("calls %q, want only %v", ops, tt.ops)
			}
		})
	}
}

// TestOUSelectsByPathPrefix: --ou selects from the one ListAccounts listing
// by path prefix, with no ListAccountsForParent call, and passes the same
// accounts, with the same paths, as the walk of the tree that an
// organization without Paths needs.
func TestOUSelectsByPathPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ou   string
		want []string
	}{
		{"r-d3m0", nil}, // every account
		{"ou-d3m0-prod0001", []string{"333333333301", "333333333302", "333333333303", "333333333304"}},
		{"ou-d3m0-prodeu01", []string{"333333333303"}},
		{"ou-d3m0-dev00001", []string{"444444444401", "444444444402", "444444444403", "444444444404", "444444444405"}},
		{"ou-d3m0-security", []string{"222222222201", "222222222202"}},
	}
	for _, tt := range tests {
		t.Run(tt.ou, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == nil {
				for _, a := range demoOrg(t).Accounts {
					want = append(want, a.ID)
				}
			}
			for i, id := range want {
				want[i] = id + " " + demoPaths[id]
			}
			sel := Selection{OU: tt.ou}

			l, srv := demoLister(t)
			if err := l.Check(context.Background(), sel); err != nil {
				t.Fatal(err)
			}
			byPrefix := placed(t, l, sel)
			if ops := operations(srv); slices.Contains(ops, "ListAccountsForParent") || count(ops, "ListAccounts") != 1 {
				t.Errorf("by prefix: calls %q, want one ListAccounts and no ListAccountsForParent", ops)
			}
			if !slices.Equal(byPrefix, want) {
				t.Errorf("by prefix:\n%s\nwant\n%s", strings.Join(byPrefix, "\n"), strings.Join(want, "\n"))
			}

			walker, wsrv := demoListerWith(t, fixtures.Options{NoPaths: true, PageSize: 2})
			if err := walker.Check(context.Background(), sel); err != nil {
				t.Fatal(err)
			}
			walked := placed(t, walker, sel)
			if ops := operations(wsrv); !slices.Contains(ops, "ListAccountsForParent") || count(ops, "ListAccounts") > 2 {
				t.Errorf("without Paths, in pages of two: calls %q, want the walk (ListAccountsForParent) after one ListAccounts page and at most one read ahead", ops)
			}
			slices.Sort(walked) // the walk goes OU by OU
			if !slices.Equal(walked, want) {
				t.Errorf("by the walk:\n%s\nwant\n%s", strings.Join(walked, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestCheckParentNeedsNoAccountListing: a root is checked against
// ListRoots, an OU with ListParents; neither lists accounts.
func TestCheckParentNeedsNoAccountListing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id      string
		wantErr error
		ops     []string
	}{
		{"r-d3m0", nil, []string{"ListRoots"}},
		{"r-n0pe", ErrUnknownOU, []string{"ListRoots"}},
		{"ou-d3m0-prodeu01", nil, []string{"ListParents", "ListParents"}},
		{"ou-d3m0-nothere1", ErrUnknownOU, []string{"ListParents"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			l, srv := demoLister(t)
			err := l.CheckParent(context.Background(), tt.id)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("CheckParent: %v, want %v", err, tt.wantErr)
			}
			if ops := operations(srv); !slices.Equal(ops, tt.ops) {
				t.Fatalf("calls %q, want %q", ops, tt.ops)
			}
		})
	}
}

// TestOUNamesAreEscaped: an OU name with a slash or a backslash cannot
// make its path read as deeper than it is.
func TestOUNamesAreEscaped(t *testing.T) {
	t.Parallel()
	org := demoOrg(t)
	for i := range org.OUs {
		if org.OUs[i].ID == "ou-d3m0-prod0001" {
			org.OUs[i].Name = `Prod/EU\x`
		}
	}
	l := listerOf(t, simtest.Start(t, org, fixtures.Options{}))
	got := placed(t, l, Selection{Accounts: []string{"333333333303"}})
	if want := []string{`333333333303 Root/Prod\/EU\\x/Production-EU r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01`}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPathIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		paths []string
		want  string // the IDs joined by "/"; "-" for no usable path
	}{
		{"an account at the root", []string{"o-demo7rootctl/r-d3m0/333333333301/"}, "r-d3m0"},
		{"an account two OUs down", []string{"o-demo7rootctl/r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01/333333333301/"}, "r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01"},
		{"the first usable path of several", []string{"nonsense", "o-demo7rootctl/r-d3m0/ou-d3m0-dev00001/333333333301/"}, "r-d3m0/ou-d3m0-dev00001"},
		{"no paths", nil, "-"},
		{"another organization's path", []string{"o-other00000/r-d3m0/333333333301/"}, "-"},
		{"another account's path", []string{"o-demo7rootctl/r-d3m0/333333333302/"}, "-"},
		{"no trailing slash", []string{"o-demo7rootctl/r-d3m0/333333333301"}, "-"},
		{"no root", []string{"o-demo7rootctl/ou-d3m0-prod0001/333333333301/"}, "-"},
		{"an OU ID of the wrong shape", []string{"o-demo7rootctl/r-d3m0/ou-D3M0-prod0001/333333333301/"}, "-"},
		{"a control character in an OU ID", []string{"o-demo7rootctl/r-d3m0/ou-d3m0-prod\n001/333333333301/"}, "-"},
		{"an empty element", []string{"o-demo7rootctl/r-d3m0//333333333301/"}, "-"},
		{"deeper than any organization", []string{"o-demo7rootctl/r-d3m0/" + strings.Repeat("ou-d3m0-prod0001/", 20) + "333333333301/"}, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids, ok := pathIDs("o-demo7rootctl", "333333333301", tt.paths)
			got := strings.Join(ids, "/")
			if !ok {
				got = "-"
			}
			if got != tt.want {
				t.Fatalf("pathIDs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTreeCallsStayWithinTheirQuotas: walking the demo organization's tree
// a page per account and per OU, under AWS's published quotas, draws no
// throttled answer: each API is paced to its own quota.
func TestTreeCallsStayWithinTheirQuotas(t *testing.T) {
	t.Parallel()
	l, srv := demoListerWith(t, fixtures.Options{NoPaths: true, PageSize: 1, Limits: fixtures.AWSQuotas()})
	got := placed(t, l, Selection{OU: "r-d3m0"})
	if len(got) != 18 {
		t.Fatalf("%d accounts, want 18", len(got))
	}
	walked := 0
	for _, c := range srv.Calls() {
		if _, paced := treeQuotas[c.Operation]; paced {
			walked++
			if c.Code != "" {
				t.Errorf("%s answered %s", c.Operation, c.Code)
			}
		}
	}
	if walked < 24 { // 15 pages of accounts, 9 of OUs: more than the bursts
		t.Fatalf("%d calls reading the tree, want at least 24", walked)
	}
}

func TestQuotaPacesToItsRateAfterItsBurst(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var waits []time.Duration
	q := newQuota(5, 8)
	q.now = func() time.Time { return now }
	q.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	for range 10 {
		q.wait(context.Background())
	}
	now = now.Add(time.Second) // 5 tokens back: 2 owed, 3 left
	for range 4 {
		q.wait(context.Background())
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
}

// TestListingDoesNotWaitForNames: Each passes every account while the OU
// names are still being read (each ListOrganizationalUnitsForParent held
// until every account has been passed), and Name then gives them.
func TestListingDoesNotWaitForNames(t *testing.T) {
	t.Parallel()
	all := len(demoOrg(t).Accounts)
	listed := make(chan struct{})
	var waited atomic.Bool
	l, _ := demoListerWith(t, fixtures.Options{Hold: func(ctx context.Context, c fixtures.Call) {
		if c.Operation != "ListOrganizationalUnitsForParent" {
			return
		}
		select {
		case <-listed:
		case <-time.After(5 * time.Second):
			waited.Store(true) // the listing waited for this call
		}
	}})
	var targets []Target
	err := l.Each(context.Background(), Selection{}, func(tg Target) error {
		if targets = append(targets, tg); len(targets) == all {
			close(listed)
		}
		return nil
	})
	if err != nil || waited.Load() {
		t.Fatalf("Each: %v; the listing waited for the OU names: %t", err, waited.Load())
	}
	a := targets[slices.IndexFunc(targets, func(tg Target) bool { return tg.ID == "333333333303" })].Account
	l.Name(context.Background(), &a)
	if want := "Root/Production/Production-EU"; a.OUPath != want {
		t.Fatalf("Name gave %q, want %q", a.OUPath, want)
	}
}

// TestNamesThatCannotBeReadLeaveNoPathByName: when the OU names cannot be
// read, the accounts are still passed with their OU path by ID, none by
// name (half names, half IDs would read as names), and Notes says why.
func TestNamesThatCannotBeReadLeaveNoPathByName(t *testing.T) {
	t.Parallel()
	l, _ := demoListerWith(t, fixtures.Options{OpFaults: map[string]string{"organizations:ListOrganizationalUnitsForParent": "AccessDeniedException"}})
	got := placed(t, l, Selection{Accounts: []string{"333333333303"}})
	if want := []string{"333333333303  r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if notes := l.Notes(); len(notes) != 1 || !strings.Contains(notes[0], "AccessDeniedException") {
		t.Fatalf("Notes() = %q, want the refused ListOrganizationalUnitsForParent", notes)
	}
}

// TestNamesCutShortByAHaltAreReadAgain: name reads cut short when the
// listing's context ends (a halt) are not remembered as the run's answer:
// Name, with a live context, reads them again and gives the names.
func TestNamesCutShortByAHaltAreReadAgain(t *testing.T) {
	t.Parallel()
	var held atomic.Bool
	held.Store(true)
	l, srv := demoListerWith(t, fixtures.Options{Hold: func(ctx context.Context, c fixtures.Call) {
		if c.Operation == "ListOrganizationalUnitsForParent" && held.Load() {
			<-ctx.Done() // until the listing's context ends
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	var targets []Target
	err := l.Each(ctx, Selection{}, func(tg Target) error {
		if targets = append(targets, tg); len(targets) == len(demoOrg(t).Accounts) {
			cancel() // the run halts once every account is listed
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	held.Store(false)
	a := targets[slices.IndexFunc(targets, func(tg Target) bool { return tg.ID == "333333333303" })].Account
	l.Name(context.Background(), &a)
	if want := "Root/Production/Production-EU"; a.OUPath != want || len(l.Notes()) != 0 {
		t.Fatalf("Name gave %q, notes %q; want %q and none (calls %v)", a.OUPath, l.Notes(), want, operations(srv))
	}
}
