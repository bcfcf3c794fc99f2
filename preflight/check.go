// Package preflight tells, before a run, which accounts an organization's
// guardrails will refuse a root session's work, and why: for each account
// and root task, it reads the service control policies (SCPs) and resource
// control policies (RCPs) attached to the account and every parent up to
// the root (Reader), and judges each action the task needs as a root
// session of that account would make it (guardrail), and the caller's own
// sts:AssumeRoot when the caller is a delegated administrator, whose own
// SCPs bind it. Each verdict is ok, blocked (with the policy, its
// statement, where it is attached, the action it denies and the fix) or
// unknown (a statement uses what guardrail does not evaluate), never ok
// by default.
package preflight

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rootctl/rootctl/guardrail"
	"github.com/rootctl/rootctl/rootsession"
)

// The verdicts.
const (
	OK      = "ok"      // no guardrail refuses the task's actions
	Blocked = "blocked" // a guardrail refuses at least one of them
	Unknown = "unknown" // none certainly does, but a statement cannot be evaluated
)

// Kinds of refusal.
const (
	Explicit = "explicit_deny" // a Deny statement applies
	Implicit = "implicit_deny" // no SCP attached at one level allows the action
)

// Cause is one reason for a verdict: one statement (or, for an implicit
// deny, one level of the tree) and the actions it refuses or leaves
// undecided.
type Cause struct {
	Verdict    string `json:"verdict"` // blocked or unknown
	Deny       string `json:"deny"`    // explicit_deny or implicit_deny
	PolicyType string `json:"policy_type"`
	PolicyID   string `json:"policy_id,omitempty"`
	PolicyName string `json:"policy_name,omitempty"`
	Sid        string `json:"sid,omitempty"`
	// AttachedTo is the root, OU or account the policy is attached to (for
	// an implicit deny: the level no SCP allows the action at).
	AttachedTo string `json:"attached_to"`
	// Caller says the policy binds the caller (a delegated administrator's
	// own account) on sts:AssumeRoot, not the member account.
	Caller  bool     `json:"caller,omitempty"`
	Actions []string `json:"actions"`
	// Unsupported is what could not be evaluated, for an unknown verdict;
	// Statement is then the statement as written.
	Unsupported string `json:"unsupported,omitempty"`
	Statement   string `json:"statement,omitempty"`
	Fix         string `json:"fix"`
}

// Verdict is the check of one task in one account.
type Verdict struct {
	Task    string  `json:"task"`
	Verdict string  `json:"verdict"`
	Causes  []Cause `json:"causes,omitempty"`
}

// Caller is who will call sts:AssumeRoot.
type Caller struct {
	ARN     string // as sts:GetCallerIdentity names it
	Account string
}

// Checker judges tasks in the accounts of one organization.
type Checker struct {
	reader     *Reader
	orgID      string
	management string
	caller     Caller
	region     string
}

// NewChecker returns a Checker for the organization r reads, whose
// management account is management, for calls made by caller in region
// (where SQS queues are).
func NewChecker(r *Reader, management string, caller Caller, region string) *Checker {
	return &Checker{reader: r, orgID: r.orgID, management: management, caller: caller, region: region}
}

// Reader is the checker's reader.
func (c *Checker) Reader() *Reader { return c.reader }

// Resource is the bucket or queue a task is about, when known.
type Resource struct {
	Service string // s3 or sqs
	Name    string // bucket or queue name
	Region  string // the queue's region ("" for the checker's)
}

// Subject is what to check: a task in an account.
type Subject struct {
	Account string
	Paths   []string // the account's Paths, when the listing gave them
	Task    rootsession.Task
	// Actions are the actions the run will call in the session; nil means
	// every action the task policy allows (Task.Actions).
	Actions []string
	// Resource is the bucket or queue of an S3 or SQS task; when nil, any
	// of the account's is meant, and a statement that names some buckets
	// or queues only cannot be decided.
	Resource *Resource
}

// actionResult is the judgement of one action.
type actionResult struct {
	action  string
	verdict string
	causes  []Cause
}

// Check judges s. An error is a failure to read the organization's
// policies (a ReadError): nothing can be said of the account then.
func (c *Checker) Check(ctx context.Context, s Subject) (Verdict, error) {
	results, err := c.check(ctx, s)
	if err != nil {
		return Verdict{}, err
	}
	return summarize(s.Task, results), nil
}

// CallerWide judges the caller's own sts:AssumeRoot for task whatever the
// target: blocked when an SCP of the caller's account refuses it for every
// account (a Deny on any target, or no Allow at some level), ok when none
// refuses it for any, unknown when that depends on the target or cannot be
// evaluated. The management account is never bound by SCPs: ok.
func (c *Checker) CallerWide(ctx context.Context, task rootsession.Task) (Verdict, error) {
	var r actionResult
	if c.callerBound() {
		var err error
		if r, err = c.judgeAssumeRoot(ctx, task, "?", 5); err != nil {
			return Verdict{}, err
		}
	} else {
		r = actionResult{action: "sts:AssumeRoot", verdict: OK}
	}
	return summarize(task, []actionResult{r}), nil
}

// callerBound says whether SCPs bind the caller: a member account (the
// IAM delegated administrator), not the management account.
func (c *Checker) callerBound() bool {
	return c.reader.Enabled(SCP) && c.caller.Account != "" && c.caller.Account != c.management
}

func (c *Checker) check(ctx context.Context, s Subject) ([]actionResult, error) {
	chain, err := c.reader.Chain(ctx, s.Account, s.Paths)
	if err != nil {
		return nil, &ReadError{Err: err}
	}
	actions := s.Actions
	if actions == nil {
		actions = s.Task.Actions()
	}
	c.reader.Prefetch(ctx, SCP, chain)
	if slices.ContainsFunc(actions, func(a string) bool { _, _, on := c.resourceOf(a, s.Account, s.Resource); return on }) {
		c.reader.Prefetch(ctx, RCP, chain)
	}
	var out []actionResult
	if c.callerBound() {
		r, err := c.judgeAssumeRoot(ctx, s.Task, s.Account, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	reqCtx := c.memberContext(s.Account, chain)
	for _, a := range actions {
		res, part, onResource := c.resourceOf(a, s.Account, s.Resource)
		req := guardrail.Request{Action: a, Resource: res, UnknownPart: part, Context: reqCtx}
		r, err := c.judge(ctx, chain, req, onResource, false)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// judgeAssumeRoot judges the caller's sts:AssumeRoot of task on target
// (unknown when part is 5) under the SCPs of the caller's own account.
func (c *Checker) judgeAssumeRoot(ctx context.Context, task rootsession.Task, target string, part int) (actionResult, error) {
	chain, err := c.reader.Chain(ctx, c.caller.Account, nil)
	if err != nil {
		return actionResult{}, &ReadError{Err: err}
	}
	reqCtx := guardrail.Context{
		"aws:principalaccount":  guardrail.Single(c.caller.Account),
		"aws:principalorgid":    guardrail.Single(c.orgID),
		"aws:principalorgpaths": guardrail.Multi(orgPath(c.orgID, chain)),
		"aws:assumedroot":       nil, // AssumeRoot cannot be called from a root session
		"sts:taskpolicyarn":     guardrail.Single(task.ARN()),
	}
	if p, ok := principalARN(c.caller.ARN); ok {
		reqCtx["aws:principalarn"] = guardrail.Single(p)
	}
	req := guardrail.Request{Action: "sts:AssumeRoot", Resource: "arn:aws:iam::" + target + ":root", UnknownPart: part, Context: reqCtx}
	return c.judge(ctx, chain, req, false, true)
}

// principalARN is aws:PrincipalArn for a caller: an IAM user's ARN as is.
// A role session's is its role's ARN, whose path GetCallerIdentity does
// not give: not known.
func principalARN(callerARN string) (string, bool) {
	a, err := arn.Parse(callerARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "user/") {
		return "", false
	}
	return callerARN, true
}

// memberContext is the request context of a call made in a root session
// of account: the keys rootctl knows the value (or the absence) of.
// Other keys are left out, so that conditions on them are unknown.
func (c *Checker) memberContext(account string, chain []string) guardrail.Context {
	return guardrail.Context{
		"aws:principalarn":      guardrail.Single("arn:aws:iam::" + account + ":root"),
		"aws:principalaccount":  guardrail.Single(account),
		"aws:assumedroot":       guardrail.Single("true"),
		"aws:principalorgid":    guardrail.Single(c.orgID),
		"aws:principalorgpaths": guardrail.Multi(orgPath(c.orgID, chain)),
		"sts:taskpolicyarn":     nil, // in AssumeRoot's request only
	}
}

// orgPath is aws:PrincipalOrgPaths for an account whose chain is given:
// the organization, the root and the OUs above the account.
func orgPath(orgID string, chain []string) string {
	return orgID + "/" + strings.Join(chain[:len(chain)-1], "/") + "/"
}

// resourceOf is the resource a root session's action acts on: the root
// user for IAM's actions on a user (the session's principal), the bucket
// or queue for S3's and SQS's actions on one (onResource: RCPs bind them),
// and "*" for actions on none. part is the part of the ARN not known (6:
// a bucket or queue not named).
func (c *Checker) resourceOf(action, account string, res *Resource) (string, int, bool) {
	service, op, _ := strings.Cut(action, ":")
	name, part := "?", 6
	if res != nil && res.Name != "" {
		name, part = res.Name, 0
	}
	switch {
	case service == "iam" && op == "GetAccountSummary":
		return "*", 0, false
	case service == "iam":
		return "arn:aws:iam::" + account + ":root", 0, false
	case service == "s3" && op != "ListAllMyBuckets":
		return "arn:aws:s3:::" + name, part, true
	case service == "sqs" && op != "ListQueues":
		region := c.region
		if res != nil && res.Region != "" {
			region = res.Region
		}
		return "arn:aws:sqs:" + region + ":" + account + ":" + name, part, true
	}
	return "*", 0, false
}

// judge applies the SCPs of chain (and, onResource, its RCPs) to req.
// An action is blocked by any Deny that applies, or by a level of the
// chain where no SCP has an Allow that applies (AWS's evaluation: an SCP
// must allow at every level); it is unknown when neither is certain but
// one cannot be ruled out.
func (c *Checker) judge(ctx context.Context, chain []string, req guardrail.Request, onResource, caller bool) (actionResult, error) {
	r := actionResult{action: req.Action, verdict: OK}
	types := []string{SCP}
	if onResource {
		types = append(types, RCP)
	}
	for _, typ := range types {
		if !c.reader.Enabled(typ) {
			continue
		}
		kind := guardrail.SCP
		if typ == RCP {
			kind = guardrail.RCP
		}
		for _, target := range chain {
			pols, err := c.reader.Attached(ctx, typ, target)
			if err != nil {
				return r, &ReadError{Err: err}
			}
			allow := guardrail.No
			allowWhy := ""
			for _, p := range pols {
				if p.ParseErr != nil {
					r.add(Cause{Verdict: Unknown, Deny: Explicit, PolicyType: typ, PolicyID: p.ID, PolicyName: p.Name,
						AttachedTo: target, Caller: caller, Unsupported: "the policy, which rootctl cannot read: " + p.ParseErr.Error()})
					if allow == guardrail.No {
						allow, allowWhy = guardrail.Maybe, "the policy "+p.ID+", which rootctl cannot read"
					}
					continue
				}
				for _, st := range p.Doc.Statements {
					t, why := st.Applies(req, kind)
					if t == guardrail.No {
						continue
					}
					if st.Effect == guardrail.Allow {
						if t == guardrail.Yes || allow == guardrail.No {
							allow, allowWhy = t, why
						}
						continue
					}
					cause := Cause{Verdict: Blocked, Deny: Explicit, PolicyType: typ, PolicyID: p.ID, PolicyName: p.Name,
						Sid: st.Sid, AttachedTo: target, Caller: caller}
					if t == guardrail.Maybe {
						cause.Verdict, cause.Unsupported, cause.Statement = Unknown, why, compact(st.Text)
					}
					r.add(cause)
				}
			}
			if typ == RCP || allow == guardrail.Yes {
				continue // RCPFullAWSAccess allows everything everywhere, and cannot be detached
			}
			cause := Cause{Verdict: Blocked, Deny: Implicit, PolicyType: typ, AttachedTo: target, Caller: caller}
			if allow == guardrail.Maybe {
				cause.Verdict, cause.Unsupported = Unknown, allowWhy
			}
			r.add(cause)
		}
	}
	return r, nil
}

// add records a cause of the action's verdict.
func (r *actionResult) add(c Cause) {
	c.Actions = []string{r.action}
	r.causes = append(r.causes, c)
	if c.Verdict == Blocked {
		r.verdict = Blocked
	} else if r.verdict == OK {
		r.verdict = Unknown
	}
}

// summarize makes one task's verdict of its actions' judgements: blocked
// when one action is (with the causes that block, each once with the
// actions it refuses), else unknown with the causes that cannot be
// decided, else ok.
func summarize(task rootsession.Task, results []actionResult) Verdict {
	v := Verdict{Task: task.Alias, Verdict: OK}
	for _, r := range results {
		switch {
		case r.verdict == Blocked:
			v.Verdict = Blocked
		case r.verdict == Unknown && v.Verdict == OK:
			v.Verdict = Unknown
		}
	}
	for _, r := range results {
		for _, c := range r.causes {
			if c.Verdict != v.Verdict {
				continue
			}
			i := slices.IndexFunc(v.Causes, func(o Cause) bool { return sameCause(o, c) })
			if i < 0 {
				c.Fix = fix(c, task)
				v.Causes = append(v.Causes, c)
				continue
			}
			if !slices.Contains(v.Causes[i].Actions, r.action) {
				v.Causes[i].Actions = append(v.Causes[i].Actions, r.action)
			}
		}
	}
	return v
}

func sameCause(a, b Cause) bool {
	return a.Verdict == b.Verdict && a.Deny == b.Deny && a.PolicyType == b.PolicyType && a.PolicyID == b.PolicyID &&
		a.Sid == b.Sid && a.AttachedTo == b.AttachedTo && a.Caller == b.Caller && a.Statement == b.Statement && a.Unsupported == b.Unsupported
}

// Summary is a cause in one line, for tables, errors and the audit log:
// "SCP p-… (Name) statement Sid, attached to ou-…, denies iam:GetLoginProfile (and 4 more actions) to root sessions".
func (c Cause) Summary() string {
	typ := "SCP"
	if c.PolicyType == RCP {
		typ = "RCP"
	}
	acts := c.Actions[0]
	if n := len(c.Actions) - 1; n == 1 {
		acts += " and 1 more action"
	} else if n > 1 {
		acts += fmt.Sprintf(" and %d more actions", n)
	}
	who := "root sessions"
	if c.Caller {
		who = "the caller"
	}
	switch {
	case c.Deny == Implicit && c.Verdict == Unknown:
		return fmt.Sprintf("cannot tell whether an SCP attached to %s allows %s to %s: rootctl cannot evaluate %s", c.AttachedTo, acts, who, c.Unsupported)
	case c.Deny == Implicit:
		return fmt.Sprintf("no SCP attached to %s allows %s to %s", c.AttachedTo, acts, who)
	}
	stmt := ""
	if c.Sid != "" {
		stmt = " statement " + c.Sid
	}
	name := ""
	if c.PolicyName != "" {
		name = " (" + c.PolicyName + ")"
	}
	if c.Verdict == Unknown {
		return fmt.Sprintf("%s %s%s%s, attached to %s, may deny %s to %s: rootctl cannot evaluate %s", typ, c.PolicyID, name, stmt, c.AttachedTo, acts, who, c.Unsupported)
	}
	return fmt.Sprintf("%s %s%s%s, attached to %s, denies %s to %s", typ, c.PolicyID, name, stmt, c.AttachedTo, acts, who)
}

// compact renders a statement's JSON on one line.
func compact(text string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(text)) != nil {
		return text
	}
	return b.String()
}

// Short names a cause in a few words, for a table cell: "SCP p-… statement
// Sid on ou-…".
func (c Cause) Short() string {
	typ := "SCP"
	if c.PolicyType == RCP {
		typ = "RCP"
	}
	if c.Caller {
		typ = "the caller's SCP"
	}
	if c.Deny == Implicit {
		return "no SCP allows it at " + c.AttachedTo
	}
	s := typ + " " + c.PolicyID
	if c.Sid != "" {
		s += " statement " + c.Sid
	}
	return s + " on " + c.AttachedTo
}
