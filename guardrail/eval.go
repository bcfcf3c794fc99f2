package guardrail

import (
	"strings"
)

// Tri is a three-valued answer: No, Yes, or Maybe (cannot be decided
// here).
type Tri int8

// The three answers.
const (
	No Tri = iota
	Yes
	Maybe
)

func (t Tri) String() string {
	switch t {
	case No:
		return "no"
	case Yes:
		return "yes"
	}
	return "maybe"
}

// Kind is the kind of policy a statement belongs to, which decides what
// its Principal element may say.
type Kind int8

// The two kinds of organization policy.
const (
	SCP Kind = iota // no Principal: the policy binds the accounts' principals
	RCP             // Principal "*": the policy binds the accounts' resources
)

// Request is what a statement is judged against: one action on one
// resource, with the request context's keys.
type Request struct {
	Action string // service:Action, e.g. iam:GetLoginProfile
	// Resource is the resource's ARN, or "*" for an action that names no
	// resource (iam:GetAccountSummary, s3:ListAllMyBuckets).
	Resource string
	// UnknownPart, when not 0, is the part of Resource (1 to 6, counted
	// between its colons) that is not known: 5 for an account ID, 6 for a
	// bucket's or queue's name. Only a pattern whose part there is all
	// stars certainly matches it.
	UnknownPart int
	Context     Context
}

// Context holds the request context's keys, by lower-case name: a key
// mapped to a Value is present with its values; a key mapped to nil is
// known to be absent; a key not in the map is not known, and any
// condition on it cannot be decided.
type Context map[string]*Value

// Value is a present key's value: one value, or a set of them for a
// multivalued key (aws:PrincipalOrgPaths).
type Value struct {
	Values []string
	Multi  bool
}

// Single is a present single-valued key.
func Single(v string) *Value { return &Value{Values: []string{v}} }

// Multi is a present multivalued key.
func Multi(vs ...string) *Value { return &Value{Values: vs, Multi: true} }

// Applies says whether s applies to req: its action, resource, principal
// and every condition match. When the answer is Maybe, why says what
// could not be evaluated. A part that does not match decides No even when
// another cannot be evaluated.
func (s *Statement) Applies(req Request, kind Kind) (t Tri, why string) {
	acc := triAnd{}
	acc.add(s.actionMatches(req.Action), "")
	if acc.t == No {
		return No, ""
	}
	acc.add(s.resourceMatches(req))
	if acc.t == No {
		return No, ""
	}
	acc.add(s.principalMatches(kind))
	if acc.t == No {
		return No, ""
	}
	for _, c := range s.Conditions {
		acc.add(c.holds(req.Context))
		if acc.t == No {
			return No, ""
		}
	}
	return acc.t, acc.why
}

// triAnd is a conjunction of three-valued answers that keeps the first
// reason for Maybe.
type triAnd struct {
	t   Tri
	why string
	set bool
}

func (a *triAnd) add(t Tri, why string) {
	switch {
	case !a.set:
		a.t, a.why, a.set = t, why, true
	case t == No || a.t == No:
		a.t, a.why = No, ""
	case t == Maybe && a.t != Maybe:
		a.t, a.why = Maybe, why
	}
}

// actionMatches matches the action against Action or NotAction: service
// prefixes and action names are case-insensitive, with the wildcards * and
// ?.
func (s *Statement) actionMatches(action string) Tri {
	action = strings.ToLower(action)
	any := false
	for _, p := range s.Actions {
		if glob(strings.ToLower(p), action) {
			any = true
			break
		}
	}
	if any != s.NotAction {
		return Yes
	}
	return No
}

// resourceMatches matches the resource against Resource or NotResource.
func (s *Statement) resourceMatches(req Request) (Tri, string) {
	or := triOr{}
	for _, p := range s.Resources {
		or.add(resourceMatch(p, req))
		if or.t == Yes {
			break
		}
	}
	if s.NotResource {
		return not(or.t), or.why
	}
	return or.t, or.why
}

// triOr is a disjunction of three-valued answers.
type triOr struct {
	t   Tri
	why string
}

func (o *triOr) add(t Tri, why string) {
	switch {
	case t == Yes || o.t == Yes:
		o.t, o.why = Yes, ""
	case t == Maybe && o.t != Maybe:
		o.t, o.why = Maybe, why
	}
}

func not(t Tri) Tri {
	switch t {
	case Yes:
		return No
	case No:
		return Yes
	}
	return Maybe
}

// resourceMatch matches one Resource pattern: "*" matches everything;
// otherwise each of the six colon-separated parts of the ARN is matched
// separately, case-sensitively, with the wildcards * and ?. An action
// that names no resource ("*") matches only a pattern of stars.
func resourceMatch(pattern string, req Request) (Tri, string) {
	if strings.Trim(pattern, "*") == "" && pattern != "" {
		return Yes, ""
	}
	if strings.Contains(pattern, "${") {
		return Maybe, "the policy variable in Resource " + pattern
	}
	if req.Resource == "*" {
		return No, ""
	}
	pp := strings.SplitN(pattern, ":", 6)
	if len(pp) != 6 {
		return Maybe, "the Resource " + pattern + ", which is not a whole ARN"
	}
	rp := strings.SplitN(req.Resource, ":", 6)
	if len(rp) != 6 {
		return No, ""
	}
	unknown := ""
	for i := range pp {
		switch {
		case i+1 == req.UnknownPart && strings.Trim(pp[i], "*") != "":
			unknown = pp[i]
		case i+1 == req.UnknownPart:
		case !glob(pp[i], rp[i]):
			return No, ""
		}
	}
	if unknown != "" {
		what := resourceKind(rp[2]) + "'s name"
		if req.UnknownPart == 5 {
			what = "account"
		}
		return Maybe, "the Resource " + pattern + ", as the " + what + " is not known"
	}
	return Yes, ""
}

func resourceKind(service string) string {
	switch service {
	case "s3":
		return "bucket"
	case "sqs":
		return "queue"
	}
	return "resource"
}

// principalMatches checks the Principal element: an SCP has none (it
// binds the principals of the accounts it is attached to); an RCP names
// every principal, "*" or {"AWS": "*"}, and narrows them with conditions.
// Anything else is not evaluated here.
func (s *Statement) principalMatches(kind Kind) (Tri, string) {
	switch {
	case s.Principal == "" && kind == SCP:
		return Yes, ""
	case s.NotPrincipal:
		return Maybe, "NotPrincipal"
	case kind == RCP && (s.Principal == `"*"` || s.Principal == `{"AWS":"*"}`):
		return Yes, ""
	case kind == SCP:
		return Maybe, "a Principal element in an SCP"
	}
	return Maybe, "the Principal " + s.Principal
}

// The condition operators evaluated here: the string and ARN operators,
// Bool and Null, with IfExists and the set operators ForAnyValue and
// ForAllValues. Numeric, date, IP address and binary operators are not.
var (
	positiveOps = map[string]func(have, want string) bool{
		"StringEquals":           func(h, w string) bool { return h == w },
		"StringEqualsIgnoreCase": strings.EqualFold,
		"StringLike":             func(h, w string) bool { return glob(w, h) },
		"ArnEquals":              arnLike,
		"ArnLike":                arnLike,
		"Bool":                   strings.EqualFold,
	}
	negatedOps = map[string]string{
		"StringNotEquals":           "StringEquals",
		"StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
		"StringNotLike":             "StringLike",
		"ArnNotEquals":              "ArnEquals",
		"ArnNotLike":                "ArnLike",
	}
)

// holds evaluates one operator and key against the context, as IAM does:
// with several values, a positive operator holds when any value matches
// and a negated one when none does; a key absent from the request makes a
// positive operator false and a negated one true, except that IfExists
// makes either true and Null tests presence itself. ForAnyValue holds
// when some value of the request's set does, and is false for an absent or
// empty set; ForAllValues holds when every value does, and is true for an
// absent or empty set.
func (c Condition) holds(ctx Context) (Tri, string) {
	op := c.Operator
	set := ""
	for _, prefix := range []string{"ForAnyValue:", "ForAllValues:"} {
		if strings.HasPrefix(op, prefix) {
			set, op = prefix, strings.TrimPrefix(op, prefix)
		}
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	base, negated := op, false
	if b, ok := negatedOps[op]; ok {
		base, negated = b, true
	}
	match, known := positiveOps[base]
	if op == "Null" && !ifExists && set == "" {
		known = true
	}
	if !known {
		return Maybe, "the condition operator " + c.Operator
	}
	for _, v := range c.Values {
		if strings.Contains(v, "${") {
			return Maybe, "the policy variable in " + c.Operator + " " + c.Key
		}
	}
	val, inModel := ctx[strings.ToLower(c.Key)]
	if !inModel {
		return Maybe, "the condition key " + c.Key
	}
	if op == "Null" {
		// "Null": {"key": "true"} holds when the key is absent, "false"
		// when it is present.
		hold := false
		for _, v := range c.Values {
			switch strings.ToLower(v) {
			case "true":
				hold = hold || val == nil
			case "false":
				hold = hold || val != nil
			default:
				return Maybe, "the Null value " + v
			}
		}
		return tri(hold), ""
	}
	one := func(have string) bool {
		any := false
		for _, w := range c.Values {
			if match(have, w) {
				any = true
				break
			}
		}
		return any != negated
	}
	var have []string
	if val != nil {
		have = val.Values
	}
	switch set {
	case "ForAnyValue:":
		if len(have) == 0 {
			return tri(ifExists), ""
		}
		for _, h := range have {
			if one(h) {
				return Yes, ""
			}
		}
		return No, ""
	case "ForAllValues:":
		for _, h := range have {
			if !one(h) {
				return No, ""
			}
		}
		return Yes, ""
	}
	if val == nil {
		return tri(ifExists || negated), ""
	}
	if val.Multi {
		return Maybe, c.Operator + " on the multivalued key " + c.Key + " without ForAnyValue or ForAllValues"
	}
	return tri(one(have[0])), ""
}

func tri(b bool) Tri {
	if b {
		return Yes
	}
	return No
}

// arnLike matches an ARN against a pattern part by part (ArnEquals and
// ArnLike alike): each of the six colon-separated parts separately, with
// the wildcards * and ?. A value that is not an ARN matches nothing.
func arnLike(have, pattern string) bool {
	hp := strings.SplitN(have, ":", 6)
	pp := strings.SplitN(pattern, ":", 6)
	if len(hp) != 6 || len(pp) != 6 {
		return false
	}
	for i := range hp {
		if !glob(pp[i], hp[i]) {
			return false
		}
	}
	return true
}

// glob matches s against pattern, where * matches any run of characters
// (none included) and ? any one character. It takes time proportional to
// len(pattern)×len(s) at worst, whatever the pattern.
func glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	pr, sr := []rune(pattern), []rune(s)
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(sr) {
		switch {
		case p < len(pr) && pr[p] == '*':
			star, mark = p, n
			p++
		case p < len(pr) && (pr[p] == '?' || pr[p] == sr[n]):
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pr) && pr[p] == '*' {
		p++
	}
	return p == len(pr)
}
