package preflight

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/guardrail"
	"github.com/rootctl/rootctl/orgscan"
)

// The two policy types the check reads, as Organizations names them.
const (
	SCP = string(orgtypes.PolicyTypeServiceControlPolicy)
	RCP = string(orgtypes.PolicyTypeResourceControlPolicy)
)

// AWS's managed policies of the two types: attached to every root, OU and
// account while the type is enabled; RCPFullAWSAccess cannot be detached.
const (
	FullAWSAccess    = "p-FullAWSAccess"
	RCPFullAWSAccess = "p-RCPFullAWSAccess"
)

// Mode is how the reader learns which policies are attached where.
type Mode int

const (
	// PerTarget lists the policies of each target it meets
	// (ListPoliciesForTarget): the account, then each parent up to the
	// root, each target once per run. It costs about one request per
	// account: the mode for a few named accounts.
	PerTarget Mode = iota
	// Index lists every policy of the organization (ListPolicies) and
	// where each is attached (ListTargetsForPolicy), once per run, except
	// AWS's FullAWSAccess and RCPFullAWSAccess, which are everywhere: a
	// target with no SCP of its own in the index has FullAWSAccess (AWS
	// never lets the last SCP of a target be detached), and only a target
	// with an SCP of its own is listed (ListPoliciesForTarget) to learn
	// whether FullAWSAccess is attached beside it. Its cost does not grow
	// with the accounts: the mode for whole organizations and OUs.
	Index
)

// MaxPerTarget is the largest selection of named accounts read PerTarget;
// a larger one, or an OU, a tag or the whole organization, is read by
// Index.
const MaxPerTarget = 20

// ModeFor is the cheaper mode for a selection.
func ModeFor(sel orgscan.Selection) Mode {
	if n := len(sel.Accounts); n > 0 && n <= MaxPerTarget {
		return PerTarget
	}
	return Index
}

// Rates paces each Organizations operation the reader calls below its
// published request-rate quota (requests per second, burst): ListRoots
// 1/2 and ListParents 5/8 are published ("Quotas for AWS Organizations");
// the four policy operations' are not, and are given the rate of the
// other list operations.
var Rates = map[string]Rate{
	"ListRoots":             {1, 2},
	"ListParents":           {5, 8},
	"ListPoliciesForTarget": {5, 8},
	"ListPolicies":          {5, 8},
	"ListTargetsForPolicy":  {5, 8},
	"DescribePolicy":        {5, 8},
}

// Policy is an SCP or RCP as the check reads it: its summary, and its
// document parsed, or why it could not be.
type Policy struct {
	ID         string
	Name       string
	Type       string
	AWSManaged bool
	Doc        *guardrail.Policy
	ParseErr   error
}

// ref is a policy attached to a target, as a list names it.
type ref struct {
	ID, Name   string
	AWSManaged bool
}

// Reader reads an organization's SCPs and RCPs: the policy types its root
// has enabled, each account's parents, the policies attached to each
// target and each policy's document, each once per run and cached, paced
// under Organizations' quotas. It is safe for concurrent use.
type Reader struct {
	org   *organizations.Client
	orgID string
	mode  Mode
	pace  map[string]*bucket

	root    string
	enabled map[string]bool

	parents  cache[string]   // child ID → parent ID
	attached cache[[]ref]    // type/target → policies attached directly
	policies cache[*Policy]  // policy ID → the policy
	index    cache[indexMap] // type → the organization's attachments

	calls sync.Map // operation → *atomic.Int64
	warm  sync.Map // "type/target" → true once Prefetch has read it
}

// indexMap is where each policy of a type other than AWS's full-access
// one is attached: target → policies.
type indexMap map[string][]ref

// ReaderOptions tune a Reader; the zero value reads PerTarget at Rates.
type ReaderOptions struct {
	Mode Mode
	// Rates override Rates for some operations (tests, benchmarks).
	Rates map[string]Rate
	// Now and Sleep are the clock pacing reads and waits on (time.Now and
	// a timer when nil).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewReader reads the organization's root (ListRoots) to learn its ID and
// the policy types it has enabled.
func NewReader(ctx context.Context, cfg aws.Config, orgID string, opts ReaderOptions) (*Reader, error) {
	r := &Reader{org: organizations.NewFromConfig(cfg), orgID: orgID, mode: opts.Mode, pace: map[string]*bucket{}, enabled: map[string]bool{}}
	for op, rate := range Rates {
		if o, ok := opts.Rates[op]; ok {
			rate = o
		}
		r.pace[op] = newBucket(rate, opts.Now, opts.Sleep)
	}
	var roots []orgtypes.Root
	err := eachPage(ctx, r, "ListRoots", organizations.NewListRootsPaginator(r.org, &organizations.ListRootsInput{}),
		func(out *organizations.ListRootsOutput) { roots = append(roots, out.Roots...) })
	if err != nil {
		return nil, fmt.Errorf("ListRoots: %w", err)
	}
	if len(roots) > 1 {
		return nil, errors.New("ListRoots named more than one root; an organization has one")
	}
	for _, root := range roots {
		r.root = aws.ToString(root.Id)
		for _, t := range root.PolicyTypes {
			if t.Status == orgtypes.PolicyTypeStatusEnabled {
				r.enabled[string(t.Type)] = true
			}
		}
	}
	if !orgscan.ValidParentID(r.root) || !strings.HasPrefix(r.root, "r-") {
		return nil, fmt.Errorf("ListRoots named no valid root (%q)", r.root)
	}
	return r, nil
}

// Enabled reports whether the organization's root has the policy type
// enabled: only then does it bind anyone.
func (r *Reader) Enabled(typ string) bool { return r.enabled[typ] }

// Root is the organization's root ID.
func (r *Reader) Root() string { return r.root }

// Calls counts the requests the reader sent, by operation (retries not
// included).
func (r *Reader) Calls() map[string]int {
	out := map[string]int{}
	r.calls.Range(func(k, v any) bool {
		out[k.(string)] = int(v.(*atomic.Int64).Load())
		return true
	})
	return out
}

// request sends one request of op, paced to its rate and counted.
func request[O any](ctx context.Context, r *Reader, op string, call func() (O, error)) (O, error) {
	if err := r.pace[op].wait(ctx); err != nil {
		var none O
		return none, err
	}
	n, _ := r.calls.LoadOrStore(op, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	return call()
}

// pager is an SDK paginator of Organizations answers of type O.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*organizations.Options)) (O, error)
}

// eachPage reads every page of p, each a request op (paced and counted),
// and hands it to fn.
func eachPage[O any](ctx context.Context, r *Reader, op string, p pager[O], fn func(O)) error {
	for p.HasMorePages() {
		out, err := request(ctx, r, op, func() (O, error) { return p.NextPage(ctx) })
		if err != nil {
			return err
		}
		fn(out)
	}
	return nil
}

// maxDepth bounds a walk up the tree: OUs nest five deep at most.
const maxDepth = 8

// Chain is the targets whose policies bind an account, the root first and
// the account last.
func (r *Reader) Chain(ctx context.Context, account string, paths []string) ([]string, error) {
	if chain, ok := r.fromPaths(account, paths); ok {
		return chain, nil
	}
	chain := []string{account}
	child := account
	for child != r.root {
		if len(chain) > maxDepth {
			return nil, fmt.Errorf("account %s: ListParents leads more than %d levels up without reaching the root %s", account, maxDepth, r.root)
		}
		parent, err := r.parents.get(child, func() (string, error) { return r.listParent(ctx, child) })
		if err != nil {
			return nil, err
		}
		chain = append([]string{parent}, chain...)
		child = parent
	}
	return chain, nil
}

// ouPattern is an OU ID's shape.
var ouPattern = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)

// fromPaths reads the chain from the account's one path, when it is
// well-formed and names this organization, its root and the account.
func (r *Reader) fromPaths(account string, paths []string) ([]string, bool) {
	if len(paths) != 1 {
		return nil, false
	}
	parts := strings.Split(paths[0], "/")
	n := len(parts)
	if n < 4 || n > maxDepth+3 || parts[n-1] != "" || parts[0] != r.orgID || parts[1] != r.root || parts[n-2] != account {
		return nil, false
	}
	for _, ou := range parts[2 : n-2] {
		if !ouPattern.MatchString(ou) {
			return nil, false
		}
	}
	return parts[1 : n-1], true
}

func (r *Reader) listParent(ctx context.Context, child string) (string, error) {
	var parents []string
	err := eachPage(ctx, r, "ListParents", organizations.NewListParentsPaginator(r.org, &organizations.ListParentsInput{ChildId: aws.String(child)}),
		func(out *organizations.ListParentsOutput) {
			for _, parent := range out.Parents {
				parents = append(parents, aws.ToString(parent.Id))
			}
		})
	if err != nil {
		return "", fmt.Errorf("ListParents %s: %w", child, err)
	}
	if len(parents) != 1 || !orgscan.ValidParentID(parents[0]) {
		return "", fmt.Errorf("ListParents %s: want one root or OU, got %q", child, parents)
	}
	return parents[0], nil
}

// Prefetch reads, all at once, the policies of typ attached to every
// target of chain and their documents, so that a check, which walks the
// chain one level at a time, finds them read: the first accounts of a run
// wait for one round of reads rather than one per level and policy. What
// fails is kept, for Attached to return.
func (r *Reader) Prefetch(ctx context.Context, typ string, chain []string) {
	if !r.Enabled(typ) {
		return // binds no one: nothing to read
	}
	var wg sync.WaitGroup
	for _, target := range chain {
		if _, done := r.warm.Load(typ + "/" + target); done {
			continue
		}
		wg.Go(func() {
			refs, err := r.attachedRefs(ctx, typ, target)
			if err != nil {
				return
			}
			var docs sync.WaitGroup
			for _, ref := range refs {
				docs.Go(func() { r.policy(ctx, typ, ref) })
			}
			docs.Wait()
			r.warm.Store(typ+"/"+target, true)
		})
	}
	wg.Wait()
}

// Attached lists the policies of typ attached directly to target.
func (r *Reader) Attached(ctx context.Context, typ, target string) ([]*Policy, error) {
	refs, err := r.attachedRefs(ctx, typ, target)
	if err != nil {
		return nil, err
	}
	out := make([]*Policy, 0, len(refs))
	for _, ref := range refs {
		p, err := r.policy(ctx, typ, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// policy is ref's policy of typ, read (DescribePolicy) once per run.
func (r *Reader) policy(ctx context.Context, typ string, ref ref) (*Policy, error) {
	return r.policies.get(ref.ID, func() (*Policy, error) { return r.describe(ctx, typ, ref) })
}

func (r *Reader) attachedRefs(ctx context.Context, typ, target string) ([]ref, error) {
	if r.mode == Index {
		idx, err := r.index.get(typ, func() (indexMap, error) { return r.buildIndex(ctx, typ) })
		if err != nil {
			return nil, err
		}
		own := idx[target]
		switch {
		case typ == RCP:
			return own, nil // RCPFullAWSAccess only allows, and is everywhere
		case len(own) == 0:
			return []ref{{ID: FullAWSAccess, Name: "FullAWSAccess", AWSManaged: true}}, nil
		}
	}
	return r.attached.get(typ+"/"+target, func() ([]ref, error) { return r.listForTarget(ctx, typ, target) })
}

func (r *Reader) listForTarget(ctx context.Context, typ, target string) ([]ref, error) {
	var out []ref
	err := eachPage(ctx, r, "ListPoliciesForTarget", organizations.NewListPoliciesForTargetPaginator(r.org, &organizations.ListPoliciesForTargetInput{
		TargetId: aws.String(target), Filter: orgtypes.PolicyType(typ)}),
		func(page *organizations.ListPoliciesForTargetOutput) { out = append(out, refs(page.Policies)...) })
	if err != nil {
		return nil, fmt.Errorf("ListPoliciesForTarget %s %s: %w", target, typ, err)
	}
	return out, nil
}

// refs are the policies of a listing's page.
func refs(policies []orgtypes.PolicySummary) []ref {
	out := make([]ref, len(policies))
	for i, s := range policies {
		out[i] = ref{ID: aws.ToString(s.Id), Name: aws.ToString(s.Name), AWSManaged: s.AwsManaged}
	}
	return out
}

// buildIndex lists every policy of typ and where each is attached, but
// AWS's full-access policy of the type.
func (r *Reader) buildIndex(ctx context.Context, typ string) (indexMap, error) {
	var all []ref
	err := eachPage(ctx, r, "ListPolicies", organizations.NewListPoliciesPaginator(r.org, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyType(typ)}),
		func(page *organizations.ListPoliciesOutput) { all = append(all, refs(page.Policies)...) })
	if err != nil {
		return nil, fmt.Errorf("ListPolicies %s: %w", typ, err)
	}
	// Each policy's targets are listed at once (paced all the same), and
	// merged in the policies' order, so that causes come in the same order
	// whatever answered first.
	targets := make([][]string, len(all))
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, pol := range all {
		if pol.ID == FullAWSAccess || pol.ID == RCPFullAWSAccess {
			continue
		}
		wg.Go(func() { targets[i], errs[i] = r.listTargets(ctx, pol.ID) })
	}
	wg.Wait()
	idx := indexMap{}
	for i, pol := range all {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, id := range targets[i] {
			idx[id] = append(idx[id], pol)
		}
	}
	return idx, nil
}

// listTargets lists where policy is attached (ListTargetsForPolicy).
func (r *Reader) listTargets(ctx context.Context, policy string) ([]string, error) {
	var ids []string
	err := eachPage(ctx, r, "ListTargetsForPolicy", organizations.NewListTargetsForPolicyPaginator(r.org, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(policy)}),
		func(page *organizations.ListTargetsForPolicyOutput) {
			for _, t := range page.Targets {
				ids = append(ids, aws.ToString(t.TargetId))
			}
		})
	if err != nil {
		return nil, fmt.Errorf("ListTargetsForPolicy %s: %w", policy, err)
	}
	return ids, nil
}

// describe reads one policy's document (DescribePolicy) and parses it. A
// document that does not parse is kept with its error: every decision it
// could change is then unknown.
func (r *Reader) describe(ctx context.Context, typ string, ref ref) (*Policy, error) {
	out, err := request(ctx, r, "DescribePolicy", func() (*organizations.DescribePolicyOutput, error) {
		return r.org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(ref.ID)})
	})
	if err != nil {
		return nil, fmt.Errorf("DescribePolicy %s: %w", ref.ID, err)
	}
	pol := out.Policy
	p := &Policy{ID: ref.ID, Name: ref.Name, Type: typ, AWSManaged: ref.AWSManaged}
	if pol == nil {
		p.ParseErr = errors.New("DescribePolicy returned no policy")
		return p, nil
	}
	if s := pol.PolicySummary; s != nil {
		if got := aws.ToString(s.Id); got != ref.ID {
			return nil, fmt.Errorf("DescribePolicy %s answered policy %q", ref.ID, got)
		}
		p.Name, p.AWSManaged = aws.ToString(s.Name), s.AwsManaged
	}
	p.Doc, p.ParseErr = guardrail.Parse(aws.ToString(pol.Content))
	return p, nil
}

// cache keeps one value per key, loaded once: callers asking for a key
// being loaded wait for it. A failed load is kept too, so a run does not
// ask again what failed.
type cache[T any] struct {
	mu sync.Mutex
	m  map[string]*cell[T]
}

type cell[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (c *cache[T]) get(key string, load func() (T, error)) (T, error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cell[T]{}
	}
	e := c.m[key]
	if e == nil {
		e = &cell[T]{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v, e.err = load() })
	return e.v, e.err
}

// ReadError is a failure to read the organization's policies: the check
// cannot say anything of the accounts it concerns.
type ReadError struct{ Err error }

func (e *ReadError) Error() string {
	msg := "reading the organization's SCPs and RCPs: "
	var op *smithy.OperationError
	if errors.As(e.Err, &op) {
		msg += op.OperationName + ": "
	}
	msg += awserr.Describe(e.Err)
	if awserr.Is(e.Err, "AccessDeniedException", "AccessDenied") {
		msg += " (the caller needs organizations:ListRoots, ListParents, ListPolicies, ListPoliciesForTarget, ListTargetsForPolicy and DescribePolicy)"
	}
	return msg
}

func (e *ReadError) Unwrap() error { return e.Err }
