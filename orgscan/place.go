package orgscan

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"golang.org/x/sync/errgroup"

	"github.com/rootctl/rootctl/awserr"
)

// Where an account sits. Organizations answers it in Account.Paths
// (ListAccounts, ListAccountsForParent, DescribeAccount; added in March
// 2026): o-ORG/r-ROOT/ou-…/ou-…/ACCOUNT/. An account whose answer carries
// no usable path is placed by walking the tree instead
// (ListAccountsForParent from each root down), once per run. The OUs'
// names, for the readable path, come from ListRoots and
// ListOrganizationalUnitsForParent of each parent on the paths met, each
// listed once per run, a few at a time. Every call that reads the tree is
// paced to its API's published quota (5 requests/s, 1 for ListRoots), so
// that the run is not throttled by its own calls.

// maxDepth bounds a path: Organizations nests OUs at most five deep under a
// root; anything much deeper is not an answer AWS gives.
const maxDepth = 16

// treeCalls is how many Organizations calls reading the tree are in
// flight at once.
const treeCalls = 4

// treeQuotas are the published request-rate quotas (rate per second, burst)
// of the calls that read the tree: each is paced to quotaShare of its rate
// and one less than its burst, the headroom absorbing the network's jitter
// (requests paced at the full rate arrive bunched now and then, and are
// throttled).
var treeQuotas = map[string][2]float64{
	"ListRoots":                        {1, 2},
	"ListOrganizationalUnitsForParent": {5, 8},
	"ListParents":                      {5, 8},
	"ListAccountsForParent":            {5, 8},
}

const quotaShare = 0.9

// quota paces the calls of one API to a rate, with a burst: a token
// bucket whose tokens may be owed, each caller waiting until its own is
// due.
type quota struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
}

func newQuota(rate, burst float64) *quota {
	return &quota{rate: rate, burst: burst, tokens: burst, now: time.Now, sleep: sleepCtx}
}

// wait returns when the caller may send its request, or when ctx ends.
func (q *quota) wait(ctx context.Context) error {
	q.mu.Lock()
	now := q.now()
	if !q.last.IsZero() {
		q.tokens = min(q.burst, q.tokens+now.Sub(q.last).Seconds()*q.rate)
	}
	q.last = now
	q.tokens--
	owed := max(0, -q.tokens)
	q.mu.Unlock()
	if owed == 0 {
		return nil
	}
	return q.sleep(ctx, time.Duration(owed/q.rate*float64(time.Second)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	orgIDPattern  = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	rootIDPattern = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDPattern   = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
)

// pathIDs reads where account sits from its Paths: the root's ID and the
// OUs' down to the account's parent. ok is false when no path has the shape
// o-ORG/r-ROOT(/ou-…)*/ACCOUNT/ with this organization's ID and this
// account's: the answer is older than Paths, or not to be trusted, and the
// account is placed by the walk.
func pathIDs(orgID, account string, paths []string) (ids []string, ok bool) {
	for _, p := range paths {
		parts := strings.Split(p, "/")
		n := len(parts)
		if n < 4 || n > maxDepth+3 || parts[n-1] != "" || parts[0] != orgID || parts[n-2] != account || !rootIDPattern.MatchString(parts[1]) {
			continue
		}
		ous := parts[2 : n-2]
		if slices.ContainsFunc(ous, func(s string) bool { return !ouIDPattern.MatchString(s) }) {
			continue
		}
		return append([]string{parts[1]}, ous...), true
	}
	return nil, false
}

// once is a call made once per run, whatever number of goroutines wait for
// it.
type once struct {
	done chan struct{}
	err  error
	cut  bool // err is the caller's ctx ending, not the call's answer
}

// tree is what the run has learnt of the organization's structure: the
// roots' and OUs' names and parents, and, when some answer carried no
// paths, where each account sits. It is safe for concurrent use; every
// call it makes is made once per run.
type tree struct {
	org    *organizations.Client
	sem    chan struct{}     // bounds the calls in flight
	quotas map[string]*quota // paces each API to its published quota

	mu       sync.Mutex
	calls    map[string]*once    // "roots", "children PARENT", "parents ID", "walk"
	name     map[string]string   // root or OU ID → name
	parent   map[string]string   // OU ID → its parent's ID
	children map[string][]string // parent → its child OUs, as listed
	placed   map[string][]string // account → its path IDs, from the walk
}

func newTree(org *organizations.Client) *tree {
	quotas := map[string]*quota{}
	for op, q := range treeQuotas {
		quotas[op] = newQuota(q[0]*quotaShare, q[1]-1)
	}
	return &tree{org: org, sem: make(chan struct{}, treeCalls), quotas: quotas, calls: map[string]*once{},
		name: map[string]string{}, parent: map[string]string{}, children: map[string][]string{}, placed: map[string][]string{}}
}

// do runs f once for key, however many callers ask, and returns its error
// to each; a caller whose ctx ends stops waiting. A call cut short by the
// end of its caller's ctx (the listing's, at a halt) is not an answer: it
// is forgotten, and a caller whose ctx is live asks again.
func (t *tree) do(ctx context.Context, key string, f func(context.Context) error) error {
	t.mu.Lock()
	c, started := t.calls[key]
	if !started {
		c = &once{done: make(chan struct{})}
		t.calls[key] = c
	}
	t.mu.Unlock()
	if !started {
		c.err = f(ctx)
		if c.cut = c.err != nil && ctx.Err() != nil; c.cut {
			t.mu.Lock()
			delete(t.calls, key)
			t.mu.Unlock()
		}
		close(c.done)
		return c.err
	}
	select {
	case <-c.done:
		if c.cut && ctx.Err() == nil {
			return t.do(ctx, key, f)
		}
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs one request of Organizations API op within the bound on calls
// in flight and paced to op's quota.
func (t *tree) call(ctx context.Context, op string, f func() error) error {
	if err := t.quotas[op].wait(ctx); err != nil {
		return err
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.sem }()
	return f()
}

// roots lists the organization's roots (ListRoots), once.
func (t *tree) roots(ctx context.Context) error {
	return t.do(ctx, "roots", func(ctx context.Context) error {
		p := organizations.NewListRootsPaginator(t.org, &organizations.ListRootsInput{})
		for p.HasMorePages() {
			var out *organizations.ListRootsOutput
			err := t.call(ctx, "ListRoots", func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				return fmt.Errorf("ListRoots: %w", err)
			}
			t.mu.Lock()
			for _, r := range out.Roots {
				t.name[aws.ToString(r.Id)] = aws.ToString(r.Name)
			}
			t.mu.Unlock()
		}
		return nil
	})
}

// isRoot reports whether id is one of the organization's roots.
func (t *tree) isRoot(ctx context.Context, id string) (bool, error) {
	if err := t.roots(ctx); err != nil {
		return false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.name[id]
	return ok && rootIDPattern.MatchString(id), nil
}

// childOUs lists parent's child OUs (ListOrganizationalUnitsForParent),
// once, learning their names; the error wraps ErrUnknownOU when parent is
// not there.
func (t *tree) childOUs(ctx context.Context, parent string) ([]string, error) {
	err := t.do(ctx, "children "+parent, func(ctx context.Context) error {
		var ids []string
		p := organizations.NewListOrganizationalUnitsForParentPaginator(t.org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for p.HasMorePages() {
			var out *organizations.ListOrganizationalUnitsForParentOutput
			err := t.call(ctx, "ListOrganizationalUnitsForParent", func() (err error) { out, err = p.NextPage(ctx); return err })
			if missing := new(orgtypes.ParentNotFoundException); errors.As(err, &missing) {
				return fmt.Errorf("%s: %w", parent, ErrUnknownOU)
			}
			if err != nil {
				return fmt.Errorf("ListOrganizationalUnitsForParent %s: %w", parent, err)
			}
			t.mu.Lock()
			for _, ou := range out.OrganizationalUnits {
				id := aws.ToString(ou.Id)
				if !ouIDPattern.MatchString(id) || slices.Contains(ids, id) {
					continue // not an OU ID, or listed twice: not followed
				}
				ids = append(ids, id)
				t.name[id], t.parent[id] = aws.ToString(ou.Name), parent
			}
			t.mu.Unlock()
		}
		t.mu.Lock()
		t.children[parent] = ids
		t.mu.Unlock()
		return nil
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.children[parent], err
}

// chainTo is the path IDs of a root or OU, from its root down to itself,
// read with ListParents (once per OU) where the listings have not told it;
// the error wraps ErrUnknownOU when id is not there.
func (t *tree) chainTo(ctx context.Context, id string) ([]string, error) {
	chain := []string{id}
	for at := id; !rootIDPattern.MatchString(at); {
		if len(chain) > maxDepth {
			return nil, fmt.Errorf("%s: ListParents gives a path deeper than %d levels", id, maxDepth)
		}
		err := t.do(ctx, "parents "+at, func(ctx context.Context) error {
			t.mu.Lock()
			_, known := t.parent[at]
			t.mu.Unlock()
			if known {
				return nil
			}
			var parents []orgtypes.Parent
			pages := organizations.NewListParentsPaginator(t.org, &organizations.ListParentsInput{ChildId: aws.String(at)})
			for pages.HasMorePages() && len(parents) == 0 {
				var out *organizations.ListParentsOutput
				err := t.call(ctx, "ListParents", func() (err error) { out, err = pages.NextPage(ctx); return err })
				if missing := new(orgtypes.ChildNotFoundException); errors.As(err, &missing) {
					return fmt.Errorf("%s: %w", at, ErrUnknownOU)
				}
				if err != nil {
					return fmt.Errorf("ListParents %s: %w", at, err)
				}
				parents = out.Parents
			}
			if len(parents) == 0 {
				return fmt.Errorf("ListParents %s: no parent", at)
			}
			p := aws.ToString(parents[0].Id)
			if !rootIDPattern.MatchString(p) && !ouIDPattern.MatchString(p) {
				return fmt.Errorf("ListParents %s: parent %q is neither a root nor an OU ID", at, p)
			}
			t.mu.Lock()
			t.parent[at] = p
			t.mu.Unlock()
			return nil
		})
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		at = t.parent[at]
		t.mu.Unlock()
		chain = append([]string{at}, chain...)
	}
	return chain, nil
}

// walk visits every account under parent, depth first: parent's accounts
// (ListAccountsForParent), then each child OU's, each with its path IDs
// (chain is parent's).
func (t *tree) walk(ctx context.Context, parent string, chain []string, visit func(a orgtypes.Account, ids []string) error) error {
	if len(chain) > maxDepth {
		return fmt.Errorf("%s: the OU tree is deeper than %d levels", parent, maxDepth)
	}
	p := organizations.NewListAccountsForParentPaginator(t.org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
	for p.HasMorePages() {
		var out *organizations.ListAccountsForParentOutput
		err := t.call(ctx, "ListAccountsForParent", func() (err error) { out, err = p.NextPage(ctx); return err })
		if missing := new(orgtypes.ParentNotFoundException); errors.As(err, &missing) {
			return fmt.Errorf("%s: %w", parent, ErrUnknownOU)
		}
		if err != nil {
			return fmt.Errorf("ListAccountsForParent %s: %w", parent, err)
		}
		for _, a := range out.Accounts {
			if err := visit(a, chain); err != nil {
				return err
			}
		}
	}
	ous, err := t.childOUs(ctx, parent)
	if err != nil {
		return err
	}
	for _, ou := range ous {
		if err := t.walk(ctx, ou, append(slices.Clip(chain), ou), visit); err != nil {
			return err
		}
	}
	return nil
}

// placedByWalk is where account sits according to one walk of the whole
// tree, made the first time an answer lacks a path; nil when the walk did
// not meet the account (it joined or moved since).
func (t *tree) placedByWalk(ctx context.Context, account string) ([]string, error) {
	err := t.do(ctx, "walk", func(ctx context.Context) error {
		if err := t.roots(ctx); err != nil {
			return err
		}
		t.mu.Lock()
		var roots []string
		for id := range t.name {
			if rootIDPattern.MatchString(id) {
				roots = append(roots, id)
			}
		}
		t.mu.Unlock()
		slices.Sort(roots)
		for _, r := range roots {
			err := t.walk(ctx, r, []string{r}, func(a orgtypes.Account, ids []string) error {
				t.mu.Lock()
				t.placed[aws.ToString(a.Id)] = ids
				t.mu.Unlock()
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.placed[account], err
}

// learnNames lists, a few at a time, every parent of chains whose
// children are not known yet, and the roots.
func (t *tree) learnNames(ctx context.Context, chains [][]string) error {
	if err := t.roots(ctx); err != nil {
		return err
	}
	var parents []string
	for _, c := range chains {
		for _, p := range c[:max(len(c)-1, 0)] {
			if !slices.Contains(parents, p) {
				parents = append(parents, p)
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(treeCalls)
	for _, p := range parents {
		g.Go(func() error {
			_, err := t.childOUs(gctx, p)
			return err
		})
	}
	return g.Wait()
}

// readable is the path of names for chain: Root/Production/Payments; ""
// when a name is not known (not read, or the OU moved since its parent was
// listed). A "/" or "\" in a name is escaped with "\", so that the path
// splits back into its names.
func (t *tree) readable(chain []string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, len(chain))
	for i, id := range chain {
		name, known := t.name[id]
		if !known || (i > 0 && t.parent[id] != chain[i-1]) {
			return ""
		}
		names[i] = nameEscaper.Replace(name)
	}
	return strings.Join(names, "/")
}

// nameEscaper escapes "/" and "\" in a name of a path.
var nameEscaper = strings.NewReplacer(`\`, `\\`, `/`, `\/`)

// place gives accounts their OU path IDs: from their Paths, or, for an
// account whose answer carries none, from the walk. The names of the OUs
// on the paths are read in the background (learnNames), so that neither
// the listing nor the accounts' work waits for them: Name fills an
// account's OUPath from them when it is reported.
func (l *Lister) place(ctx context.Context, naming *sync.WaitGroup, accounts []orgtypes.Account) ([]Account, error) {
	out := make([]Account, len(accounts))
	chains := make([][]string, len(accounts))
	for i, a := range accounts {
		out[i] = toAccount(a)
		ids, ok := pathIDs(l.Org.ID, out[i].ID, a.Paths)
		if !ok {
			var err error
			if ids, err = l.tree.placedByWalk(ctx, out[i].ID); err != nil {
				return nil, err
			}
		}
		chains[i] = ids
	}
	l.named(ctx, naming, out, chains)
	return out, nil
}

// Name sets a's OUPath, by name (Root/Production/Payments), from its
// OUPathIDs, waiting for the names being read if need be. When a name on
// the path is not known (it could not be read, or the OU moved since its
// parent was listed), OUPath stays empty: a path half names and half IDs
// would read as names that match nothing (an exception for
// Root/Production, say). Notes says why names could not be read.
func (l *Lister) Name(ctx context.Context, a *Account) {
	if a.OUPath != "" || a.OUPathIDs == "" {
		return
	}
	chain := strings.Split(a.OUPathIDs, "/")
	if err := l.tree.learnNames(ctx, [][]string{chain}); err != nil && ctx.Err() == nil {
		l.mu.Lock()
		if l.namesErr == nil {
			l.namesErr = err
		}
		l.mu.Unlock()
	}
	a.OUPath = l.tree.readable(chain)
}

// Notes says what the listing could not do in full, for the user to see
// beside the report: OU names it could not read.
func (l *Lister) Notes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.namesErr == nil {
		return nil
	}
	return []string{"some accounts have no OU path by name (ou_path), only by ID (ou_path_ids), as OU names could not be read: " + awserr.Describe(l.namesErr) +
		" (the caller needs organizations:ListRoots and ListOrganizationalUnitsForParent)"}
}

// named gives accounts the path IDs of their chains, and reads the names
// on them in the background (see place), in a goroutine naming counts.
func (l *Lister) named(ctx context.Context, naming *sync.WaitGroup, accounts []Account, chains [][]string) {
	for i, c := range chains {
		accounts[i].OUPathIDs = strings.Join(c, "/")
	}
	naming.Go(func() { l.tree.learnNames(ctx, chains) }) // its failure is Name's to tell
}

// eachUnder passes fn every account under the root or OU parent, with its
// OU path, from the one listing of the organization (ListAccounts), by
// path prefix. Should an answer carry no path, the accounts not yet passed
// are found by walking the tree under parent, as before Paths.
func (l *Lister) eachUnder(ctx context.Context, naming *sync.WaitGroup, parent string, fn func(Account) error) error {
	passed := map[string]bool{}
	for page, err := range l.accountPages(ctx) {
		if err != nil {
			return err
		}
		chains := make([][]string, len(page))
		for i, a := range page {
			ids, ok := pathIDs(l.Org.ID, aws.ToString(a.Id), a.Paths)
			if !ok {
				return l.walkUnder(ctx, naming, parent, passed, fn)
			}
			chains[i] = ids
		}
		var under []orgtypes.Account
		var underChains [][]string
		for i, c := range chains {
			if slices.Contains(c, parent) {
				under, underChains = append(under, page[i]), append(underChains, c)
			}
		}
		accounts := make([]Account, len(under))
		for i, a := range under {
			accounts[i] = toAccount(a)
		}
		l.named(ctx, naming, accounts, underChains)
		for _, a := range accounts {
			passed[a.ID] = true
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	if len(passed) == 0 {
		// Nothing under it: an empty OU, or none at all. Only this case
		// costs a call, and it tells the two apart.
		return l.CheckParent(ctx, parent)
	}
	return nil
}

// walkUnder passes fn every account under parent that passed does not
// hold, walking the tree (ListAccountsForParent, then each child OU).
func (l *Lister) walkUnder(ctx context.Context, naming *sync.WaitGroup, parent string, passed map[string]bool, fn func(Account) error) error {
	chain, err := l.tree.chainTo(ctx, parent)
	if err != nil {
		return err
	}
	return l.tree.walk(ctx, parent, chain, func(a orgtypes.Account, ids []string) error {
		if passed[aws.ToString(a.Id)] {
			return nil
		}
		acct := []Account{toAccount(a)}
		l.named(ctx, naming, acct, [][]string{ids})
		return fn(acct[0])
	})
}
