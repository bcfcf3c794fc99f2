// Package orgscan decides which member accounts a command works on (the
// organization's listing, filtered by account ID, OU, tag and exclusions)
// and runs work over them with a bounded number in flight.
package orgscan

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/rootctl/rootctl/awserr"
)

// Account is an account of the organization, and where it sits: its OU
// path from the root down to its parent, by name (Root/Production/Payments,
// a "/" or "\" in a name escaped with "\") and by ID
// (r-ab12/ou-ab12-11111111/ou-ab12-22222222). The paths are empty for an ID
// that is not an account of the organization.
type Account struct {
	ID        string `json:"account_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	State     string `json:"state"` // ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION
	OUPath    string `json:"ou_path"`
	OUPathIDs string `json:"ou_path_ids"`
	// Paths are where the account sits, as Organizations writes them
	// (Account.Paths: o-…/r-…/ou-…/ACCOUNT/); empty when the answer
	// carried none.
	Paths []string `json:"-"`
}

// Target is a selected account: to be worked on, or skipped with a reason.
type Target struct {
	Account
	Skip string // why the account cannot be worked on; empty when it can
}

// Organization is what DescribeOrganization says of the organization.
type Organization struct {
	ID                string `json:"id"`
	ManagementAccount string `json:"management_account"`
	FeatureSet        string `json:"feature_set"`
}

// Selection says which accounts to work on. The zero value selects every
// account of the organization; All says so explicitly, as commands that
// change accounts require (see Explicit).
type Selection struct {
	Accounts []string          // only these account IDs
	OU       string            // only accounts under this OU (or root), recursively
	Tags     map[string]string // only accounts with all these tags
	Exclude  []string          // never these account IDs
	All      bool              // every account, chosen explicitly; excludes Accounts, OU and Tags
}

// Explicit reports whether the selection names its accounts (by ID, OU or
// tag) or says All, rather than selecting every account by default.
func (s Selection) Explicit() bool {
	return s.All || len(s.Accounts) > 0 || s.OU != "" || len(s.Tags) > 0
}

var (
	parentIDPattern = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
)

// Validate checks the shape of every ID before any call is made.
func (s Selection) Validate() error {
	for _, id := range append(append([]string(nil), s.Accounts...), s.Exclude...) {
		if !awserr.ValidAccountID(id) {
			return fmt.Errorf("account ID %q: want 12 digits", id)
		}
	}
	if s.OU != "" && !ValidParentID(s.OU) {
		return fmt.Errorf("OU ID %q: want ou-xxxx-xxxxxxxx (or a root, r-xxxx)", s.OU)
	}
	for k := range s.Tags {
		if k == "" {
			return errors.New("tag filter with an empty key: want KEY=VALUE")
		}
	}
	if s.All && (len(s.Accounts) > 0 || s.OU != "" || len(s.Tags) > 0) {
		return errors.New("a selection of all accounts cannot also name account IDs, an OU or tags")
	}
	return nil
}

// ErrUnknownOU is returned when the selection's OU does not exist.
var ErrUnknownOU = errors.New("no such OU or root in this organization")

// Lister lists the organization's accounts, each with where it sits.
type Lister struct {
	org *organizations.Client
	// Org is the organization, read once by NewLister.
	Org  Organization
	tree *tree // the organization's structure, as far as the run has read it

	mu       sync.Mutex
	listed   map[string]orgtypes.Account // the selection's IDs as Check described them
	namesErr error                       // the first failure to read OU names
}

// NewLister describes the organization (to learn its management account)
// and returns a Lister for it.
func NewLister(ctx context.Context, cfg aws.Config) (*Lister, error) {
	c := organizations.NewFromConfig(cfg)
	out, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, fmt.Errorf("DescribeOrganization: %w", err)
	}
	o := out.Organization
	return &Lister{org: c, tree: newTree(c), Org: Organization{
		ID: aws.ToString(o.Id), ManagementAccount: aws.ToString(o.MasterAccountId), FeatureSet: string(o.FeatureSet),
	}}, nil
}

// Each calls fn for every selected account, with its OU path's IDs, page
// by page as the listing arrives, so work can start before the listing
// ends. The OU names are read meanwhile: Name gives an account its OUPath
// once its work is done, so that neither the listing nor the work waits
// for them. An OU
// selects from the one listing of the organization by path prefix (see
// eachUnder). Accounts that cannot be targeted (the management account,
// accounts not ACTIVE, IDs outside the organization) are passed with Skip
// set.
func (l *Lister) Each(ctx context.Context, sel Selection, fn func(Target) error) error {
	excluded := map[string]bool{}
	for _, id := range sel.Exclude {
		excluded[id] = true
	}
	emit := func(acct Account) error {
		if excluded[acct.ID] {
			return nil
		}
		if len(sel.Tags) > 0 {
			ok, err := l.hasTags(ctx, acct.ID, sel.Tags)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
		}
		return fn(l.classify(acct))
	}
	var naming sync.WaitGroup // the names read in the background end with Each
	defer naming.Wait()
	switch {
	case len(sel.Accounts) > 0:
		return l.eachID(ctx, &naming, sel.Accounts, excluded, emit, fn)
	case sel.OU != "":
		return l.eachUnder(ctx, &naming, sel.OU, emit)
	default:
		for page, err := range l.accountPages(ctx) {
			if err != nil {
				return err
			}
			accounts, err := l.place(ctx, &naming, page)
			if err != nil {
				return err
			}
			for _, a := range accounts {
				if err := emit(a); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// accountPages yields the pages of the organization's one listing
// (ListAccounts), one at a time, and the error that ends it, if one does.
// It reads one page ahead: the request for the next page goes out as a
// page is yielded, most often before the work on that page's accounts
// sends its own. The listing is the run's critical path, each page waiting
// for the one before; its answer then comes back ahead of, not among, the
// answers to the requests those accounts sent at the same time (at 10,000
// accounts, 64 in flight, 20 ms of latency, a page's round trip went from
// 23.1 to 22.7 ms: BENCHMARKS.md, "Faults"). No request is in flight once
// the loop over it has ended; a loop that ends early has had one page
// read for nothing.
func (l *Lister) accountPages(ctx context.Context) iter.Seq2[[]orgtypes.Account, error] {
	return func(yield func([]orgtypes.Account, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		type page struct {
			accounts []orgtypes.Account
			err      error
		}
		pages, done := make(chan page), make(chan struct{})
		var complete bool // the listing's end was reached; read once pages is closed
		go func() {
			defer close(done)
			defer close(pages)
			p := organizations.NewListAccountsPaginator(l.org, &organizations.ListAccountsInput{})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				var next page
				if err != nil {
					next.err = fmt.Errorf("ListAccounts: %w", err)
				} else {
					next.accounts = out.Accounts
				}
				select {
				case pages <- next:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
			complete = true
		}()
		defer func() { cancel(); <-done }()
		for next := range pages {
			if !yield(next.accounts, next.err) || next.err != nil {
				return
			}
		}
		if !complete { // ctx ended while a page waited to be yielded
			yield(nil, fmt.Errorf("ListAccounts: %w", ctx.Err()))
		}
	}
}

// Check makes sure, before any work starts, that the selection's OU exists
// (the error wraps ErrUnknownOU) and that each of its account IDs, the
// excluded ones too, is an account of the organization (the error wraps
// ErrNotMember): a mistyped exclusion would otherwise spare nothing and
// leave the account meant in the selection. Each then uses the accounts
// described here instead of describing them again.
func (l *Lister) Check(ctx context.Context, sel Selection) error {
	if sel.OU != "" {
		if err := l.CheckParent(ctx, sel.OU); err != nil {
			return err
		}
	}
	for _, id := range sel.Accounts {
		l.mu.Lock()
		_, done := l.listed[id]
		l.mu.Unlock()
		if done {
			continue
		}
		a, err := describeAccount(ctx, l.org, id)
		if errors.Is(err, ErrNotMember) {
			return &NotMemberError{ID: id, Organization: l.Org.ID}
		}
		if err != nil {
			return err
		}
		l.mu.Lock()
		if l.listed == nil {
			l.listed = map[string]orgtypes.Account{}
		}
		l.listed[id] = a
		l.mu.Unlock()
	}
	for _, id := range sel.Exclude {
		if slices.Contains(sel.Accounts, id) {
			continue // described above
		}
		if _, err := describeAccount(ctx, l.org, id); errors.Is(err, ErrNotMember) {
			return &NotMemberError{ID: id, Organization: l.Org.ID, Excluded: true}
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (l *Lister) eachID(ctx context.Context, naming *sync.WaitGroup, ids []string, excluded map[string]bool, emit func(Account) error, fn func(Target) error) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || excluded[id] {
			continue
		}
		seen[id] = true
		l.mu.Lock()
		a, ok := l.listed[id]
		l.mu.Unlock()
		var err error
		if !ok {
			a, err = describeAccount(ctx, l.org, id)
		}
		if errors.Is(err, ErrNotMember) {
			if err := fn(Target{Account: Account{ID: id}, Skip: "not an account of organization " + l.Org.ID}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		placed, err := l.place(ctx, naming, []orgtypes.Account{a})
		if err != nil {
			return err
		}
		if err := emit(placed[0]); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lister) hasTags(ctx context.Context, id string, want map[string]string) (bool, error) {
	have := map[string]string{}
	p := organizations.NewListTagsForResourcePaginator(l.org, &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("ListTagsForResource %s: %w", id, err)
		}
		for _, t := range out.Tags {
			have[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false, nil
		}
	}
	return true, nil
}

// classify decides whether AssumeRoot can target the account.
func (l *Lister) classify(a Account) Target {
	t := Target{Account: a}
	switch {
	case a.ID == l.Org.ManagementAccount:
		t.Skip = "management account (AssumeRoot cannot target it)"
	case a.State != string(orgtypes.AccountStateActive):
		t.Skip = "account is " + a.State
	}
	return t
}

// toAccount reads State, falling back to the retired Status only for
// answers from before State existed.
func toAccount(a orgtypes.Account) Account {
	state := string(a.State)
	if state == "" {
		state = string(a.Status)
	}
	return Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Email: aws.ToString(a.Email), State: state, Paths: a.Paths}
}

// ErrNotMember is returned by Describe for an account ID that is not an
// account of the organization.
var ErrNotMember = errors.New("not an account of this organization")

// NotMemberError names an account ID that is not an account of the
// organization; it matches ErrNotMember.
type NotMemberError struct {
	ID, Organization string
	Excluded         bool // the ID is one the selection excludes
}

func (e *NotMemberError) Error() string {
	if e.Excluded {
		return "excluded account " + e.ID + " is not an account of organization " + e.Organization
	}
	return "account " + e.ID + " is not an account of organization " + e.Organization
}

// Is makes errors.Is(err, ErrNotMember) true.
func (e *NotMemberError) Is(target error) bool { return target == ErrNotMember }

// Describe reads one account (DescribeAccount) and says, like Each, whether
// AssumeRoot can target it.
func (l *Lister) Describe(ctx context.Context, id string) (Target, error) {
	a, err := describeAccount(ctx, l.org, id)
	if errors.Is(err, ErrNotMember) {
		return Target{}, fmt.Errorf("%w %s", err, l.Org.ID)
	}
	if err != nil {
		return Target{}, err
	}
	var naming sync.WaitGroup
	placed, err := l.place(ctx, &naming, []orgtypes.Account{a})
	if err != nil {
		return Target{}, err
	}
	naming.Wait()
	l.Name(ctx, &placed[0])
	return l.classify(placed[0]), nil
}

// MemberState reads the State of account id in the organization c's
// caller reads (DescribeAccount); member is false when the organization
// has no such account.
func MemberState(ctx context.Context, c *organizations.Client, id string) (state string, member bool, err error) {
	a, err := describeAccount(ctx, c, id)
	if errors.Is(err, ErrNotMember) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return toAccount(a).State, true, nil
}

// describeAccount reads one account; the error wraps ErrNotMember when the
// organization has no account with that ID.
func describeAccount(ctx context.Context, c *organizations.Client, id string) (orgtypes.Account, error) {
	out, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
	var missing *orgtypes.AccountNotFoundException
	if errors.As(err, &missing) {
		return orgtypes.Account{}, fmt.Errorf("account %s: %w", id, ErrNotMember)
	}
	if err != nil {
		return orgtypes.Account{}, fmt.Errorf("DescribeAccount %s: %w", id, err)
	}
	return *out.Account, nil
}

// CheckParent returns ErrUnknownOU when id is neither an OU nor a root of
// the organization: a root must be among ListRoots', an OU must have a
// parent (ListParents). Both answers are kept for the run.
func (l *Lister) CheckParent(ctx context.Context, id string) error {
	if rootIDPattern.MatchString(id) {
		ok, err := l.tree.isRoot(ctx, id)
		if err == nil && !ok {
			err = fmt.Errorf("%s: %w", id, ErrUnknownOU)
		}
		return err
	}
	_, err := l.tree.chainTo(ctx, id)
	return err
}

// ValidParentID reports whether id has the shape of an OU ID
// (ou-xxxx-xxxxxxxx) or a root ID (r-xxxx).
func ValidParentID(id string) bool { return parentIDPattern.MatchString(id) }
