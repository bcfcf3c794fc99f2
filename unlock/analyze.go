// Package unlock repairs an S3 bucket or SQS queue whose resource policy
// locks everyone out, with a root session of the account that owns it:
// it analyses the policy, backs it up, replaces or deletes it, and reads
// the result back.
package unlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Lock is a policy statement that locks everyone out: Effect Deny for
// every principal on every action of the service, on the resource itself.
type Lock struct {
	Index int    `json:"index"` // position in Statement, from 0
	Sid   string `json:"sid,omitempty"`
	// Except is empty for an unconditional deny. Otherwise it is the
	// condition that still lets some requests through: a network path or
	// identity (aws:SourceVpce, aws:PrincipalArn, …) which, once deleted
	// or mistyped, leaves nobody able to get in.
	Except string `json:"except,omitempty"`
}

func (l Lock) String() string {
	s := fmt.Sprintf("statement %d", l.Index)
	if l.Sid != "" {
		s += fmt.Sprintf(" (Sid %q)", l.Sid)
	}
	if l.Except == "" {
		return s + " denies every action to everyone"
	}
	return s + " denies every action to everyone except requests where " + l.Except
}

// Analysis is what Analyze found in a policy.
type Analysis struct {
	Locks []Lock `json:"locking_statements"`
}

// Lockout reports whether the policy locks everyone out.
func (a Analysis) Lockout() bool { return len(a.Locks) > 0 }

// restrictingKeys are condition keys that admit only a given network path
// or identity: a deny-all "unless aws:SourceVpce is X" is a lockout in
// practice when X is gone. A condition on any other key (aws:SecureTransport,
// encryption headers, …) is something any caller can meet, so the
// statement is not a lockout. Source: IAM User Guide, "AWS global condition
// context keys"; S3 User Guide, "I accidentally denied everyone access to my
// bucket".
var restrictingKeys = map[string]bool{
	"aws:sourcevpce": true, "aws:sourcevpc": true, "aws:sourceip": true, "aws:vpcsourceip": true,
	"aws:principalarn": true, "aws:principalaccount": true, "aws:principalorgid": true,
	"aws:principalorgpaths": true, "aws:userid": true, "aws:username": true,
	"aws:sourceaccount": true, "aws:sourcearn": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
}

// ErrInvalidPolicy is wrapped by every error about a policy's shape.
var ErrInvalidPolicy = errors.New("invalid policy")

type statement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Action       json.RawMessage                       `json:"Action"`
	NotAction    json.RawMessage                       `json:"NotAction"`
	Resource     json.RawMessage                       `json:"Resource"`
	NotResource  json.RawMessage                       `json:"NotResource"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// parse reads a policy document: a JSON object whose Statement is one
// statement or a non-empty list of them, each with Effect Allow or Deny.
func parse(doc string) ([]statement, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidPolicy, err)
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, fmt.Errorf("%w: no Statement", ErrInvalidPolicy)
	}
	var list []statement
	if err := json.Unmarshal(raw, &list); err != nil {
		var one statement
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("%w: Statement must be an object or a list of objects: %v", ErrInvalidPolicy, err)
		}
		list = []statement{one}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: Statement is empty", ErrInvalidPolicy)
	}
	for i, st := range list {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("%w: statement %d: Effect %q, want Allow or Deny", ErrInvalidPolicy, i, st.Effect)
		}
	}
	return list, nil
}

// Validate checks that doc is a policy document rootctl can send.
func Validate(doc string) error {
	_, err := parse(doc)
	return err
}

// Analyze finds the statements of a bucket or queue policy that lock
// everyone out. service is "s3" or "sqs"; resourceARN, when given, is the
// bucket's or queue's ARN: a deny only on a bucket's objects does not lock
// the bucket's policy.
func Analyze(service, resourceARN, doc string) (Analysis, error) {
	list, err := parse(doc)
	if err != nil {
		return Analysis{}, err
	}
	var a Analysis
	for i, st := range list {
		if st.Effect != "Deny" || st.NotPrincipal != nil || st.NotAction != nil || st.NotResource != nil {
			continue
		}
		if !everyone(st.Principal) || !allActions(service, st.Action) || !coversResource(resourceARN, st.Resource) {
			continue
		}
		except, lets := conditionLetsThrough(st.Condition)
		if lets {
			continue
		}
		a.Locks = append(a.Locks, Lock{Index: i, Sid: st.Sid, Except: except})
	}
	return a, nil
}

// strings reads a policy element that is one string or a list of them.
func stringList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// everyone: Principal "*" or {"AWS": "*"} (or a list holding "*").
func everyone(raw json.RawMessage) bool {
	if raw == nil {
		return false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, v := range stringList(m["AWS"]) {
		if v == "*" {
			return true
		}
	}
	return false
}

func allActions(service string, raw json.RawMessage) bool {
	for _, a := range stringList(raw) {
		if a == "*" || strings.EqualFold(a, service+":*") {
			return true
		}
	}
	return false
}

func coversResource(arn string, raw json.RawMessage) bool {
	if arn == "" {
		return true
	}
	for _, pattern := range stringList(raw) {
		if wildcardMatch(pattern, arn) {
			return true
		}
	}
	return false
}

// wildcardMatch matches IAM's ARN wildcards: * any run, ? one character.
func wildcardMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

// conditionLetsThrough says whether a deny's condition lets ordinary
// callers through (not a lockout), and otherwise renders it.
func conditionLetsThrough(cond map[string]map[string]json.RawMessage) (string, bool) {
	if len(cond) == 0 {
		return "", false
	}
	var parts []string
	for op, keys := range cond {
		for key, val := range keys {
			if !restrictingKeys[strings.ToLower(key)] {
				return "", true
			}
			parts = append(parts, admitted(op, key, strings.Join(stringList(val), " or ")))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " and "), false
}

// admitted renders what a deny's condition lets through: the negation of
// the operator, so "StringNotEquals aws:SourceVpce X" reads "aws:SourceVpce
// is X".
func admitted(op, key, values string) string {
	base := strings.TrimSuffix(strings.TrimPrefix(op, "ForAnyValue:"), "IfExists")
	switch {
	case strings.HasSuffix(base, "NotEquals") || base == "NotIpAddress":
		return key + " is " + values
	case strings.HasSuffix(base, "NotLike"):
		return key + " matches " + values
	case strings.HasSuffix(base, "Equals") || base == "IpAddress":
		return key + " is not " + values
	case strings.HasSuffix(base, "Like"):
		return key + " does not match " + values
	}
	return fmt.Sprintf("not (%s %s %s)", op, key, values)
}
