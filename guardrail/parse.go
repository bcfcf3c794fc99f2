// Package guardrail reads service control policies (SCPs) and resource
// control policies (RCPs) and decides whether a statement of theirs
// applies to a request. It is written from AWS's documentation: the IAM
// User Guide's "IAM JSON policy element reference", "Policy evaluation
// logic" and "IAM JSON policy elements: Condition operators", and the AWS
// Organizations User Guide's "SCP syntax" and "RCP syntax".
//
// Every decision has three values: a statement applies (Yes), does not
// (No), or cannot be decided here (Maybe), when the answer depends on a
// condition operator, a condition key, a policy variable or an element
// this package does not evaluate. Maybe is never rounded to either side:
// the caller reports it as such, with the reason.
package guardrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// MaxDocument bounds the policy documents Parse reads: Organizations keeps
// SCPs and RCPs under 5,120 characters; anything far larger is not one.
const MaxDocument = 64 << 10

// Policy is a parsed SCP or RCP document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Action and
// NotAction is set (NotAction true means Actions lists NotAction), and
// likewise for Resource and NotResource.
type Statement struct {
	Sid         string
	Effect      string // Allow or Deny
	Actions     []string
	NotAction   bool
	Resources   []string
	NotResource bool
	// Principal is the Principal element as written ("" when absent), and
	// NotPrincipal says the element was NotPrincipal.
	Principal    string
	NotPrincipal bool
	Conditions   []Condition // sorted by operator, then key
	// Text is the statement's JSON as it appears in the document, for
	// reports of statements that cannot be decided.
	Text string
}

// Condition is one operator and key of a statement's Condition element,
// with the values the policy gives.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string // as written, e.g. "aws:PrincipalArn"
	Values   []string
}

// Effects.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Parse reads a policy document as Organizations stores it. It refuses
// what IAM's grammar refuses (a document that is not one JSON object, a
// duplicated key, an element outside the grammar, a statement without
// Effect, or without exactly one of Action/NotAction and of
// Resource/NotResource, an empty list) rather than guess at it. Operators
// and keys are not checked here: one that Applies cannot evaluate makes
// the statement undecidable there, not the document unreadable.
func Parse(doc string) (*Policy, error) {
	if len(doc) > MaxDocument {
		return nil, fmt.Errorf("the policy document is %d bytes; SCPs and RCPs are at most 5,120 characters", len(doc))
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	top, ok := root.(*object)
	if !ok {
		return nil, errors.New("the policy document is not a JSON object")
	}
	p := &Policy{}
	for _, k := range top.keys {
		v := top.vals[k]
		switch k {
		case "Version":
			if p.Version, ok = v.(string); !ok {
				return nil, errors.New("Version is not a string")
			}
		case "Id":
			if p.ID, ok = v.(string); !ok {
				return nil, errors.New("Id is not a string")
			}
		case "Statement":
		default:
			return nil, fmt.Errorf("unknown policy element %q", k)
		}
	}
	st, ok := top.vals["Statement"]
	if !ok {
		return nil, errors.New("the policy has no Statement")
	}
	var list []any
	switch st := st.(type) {
	case *object:
		list = []any{st}
	case []any:
		list = st
	default:
		return nil, errors.New("Statement is neither an object nor a list")
	}
	if len(list) == 0 {
		return nil, errors.New("Statement is empty")
	}
	for i, raw := range list {
		obj, ok := raw.(*object)
		if !ok {
			return nil, fmt.Errorf("statement %d is not an object", i+1)
		}
		s, err := parseStatement(obj)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(obj *object) (Statement, error) {
	s := Statement{Text: obj.text}
	var err error
	var haveAction, haveResource, havePrincipal bool
	for _, k := range obj.keys {
		v := obj.vals[k]
		switch k {
		case "Sid":
			str, ok := v.(string)
			if !ok {
				return s, errors.New("Sid is not a string")
			}
			s.Sid = str
		case "Effect":
			str, ok := v.(string)
			if !ok || (str != Allow && str != Deny) {
				return s, fmt.Errorf("Effect %v: want Allow or Deny", v)
			}
			s.Effect = str
		case "Action", "NotAction":
			if haveAction {
				return s, errors.New("both Action and NotAction")
			}
			haveAction, s.NotAction = true, k == "NotAction"
			if s.Actions, err = stringList(k, v); err != nil {
				return s, err
			}
		case "Resource", "NotResource":
			if haveResource {
				return s, errors.New("both Resource and NotResource")
			}
			haveResource, s.NotResource = true, k == "NotResource"
			if s.Resources, err = stringList(k, v); err != nil {
				return s, err
			}
		case "Principal", "NotPrincipal":
			if havePrincipal {
				return s, errors.New("both Principal and NotPrincipal")
			}
			havePrincipal, s.NotPrincipal = true, k == "NotPrincipal"
			s.Principal = canonical(v)
		case "Condition":
			if s.Conditions, err = parseConditions(v); err != nil {
				return s, err
			}
		default:
			return s, fmt.Errorf("unknown statement element %q", k)
		}
	}
	switch {
	case s.Effect == "":
		return s, errors.New("no Effect")
	case !haveAction:
		return s, errors.New("neither Action nor NotAction")
	case !haveResource:
		return s, errors.New("neither Resource nor NotResource")
	}
	return s, nil
}

func parseConditions(v any) ([]Condition, error) {
	ops, ok := v.(*object)
	if !ok {
		return nil, errors.New("Condition is not an object")
	}
	var out []Condition
	for _, op := range ops.keys {
		keys, ok := ops.vals[op].(*object)
		if !ok {
			return nil, fmt.Errorf("Condition %s is not an object", op)
		}
		if len(keys.keys) == 0 {
			return nil, fmt.Errorf("Condition %s names no key", op)
		}
		for _, k := range keys.keys {
			values, err := conditionValues(keys.vals[k])
			if err != nil {
				return nil, fmt.Errorf("Condition %s %s: %w", op, k, err)
			}
			out = append(out, Condition{Operator: op, Key: k, Values: values})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Operator != out[j].Operator {
			return out[i].Operator < out[j].Operator
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// conditionValues reads a condition's value: a string, number or boolean,
// or a non-empty list of them, each as its JSON text.
func conditionValues(v any) ([]string, error) {
	scalar := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case json.Number:
			return v.String(), true
		case bool:
			if v {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("want a value or a non-empty list of values")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalar(e)
		if !ok {
			return nil, errors.New("a list value is not a string, number or boolean")
		}
		out = append(out, s)
	}
	return out, nil
}

// stringList reads Action, Resource and their Not forms: a string or a
// non-empty list of strings.
func stringList(name string, v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, fmt.Errorf("%s is an empty list", name)
		}
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s lists something that is not a string", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is neither a string nor a list of strings", name)
}

// object is a JSON object with its keys in document order and its text.
type object struct {
	keys []string
	vals map[string]any
	text string
}

// maxDepth bounds nesting: a policy is four levels deep at most
// (document, statement list, statement, Condition, operator, values).
const maxDepth = 16

// decodeJSON reads one JSON value, refusing duplicated keys (which
// encoding/json would silently resolve to the last) and trailing data.
func decodeJSON(doc string) (any, error) {
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	v, err := decodeValue(d, doc, 0)
	if err != nil {
		return nil, fmt.Errorf("the policy is not valid JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("the policy is not valid JSON: data after the document")
	}
	return v, nil
}

func decodeValue(d *json.Decoder, doc string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	start := d.InputOffset()
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			o := &object{vals: map[string]any{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("an object key is not a string")
				}
				if _, dup := o.vals[k]; dup {
					return nil, fmt.Errorf("key %q appears twice in one object", k)
				}
				v, err := decodeValue(d, doc, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals[k] = v
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			o.text = strings.TrimLeft(doc[start:d.InputOffset()], " \t\r\n,:")
			return o, nil
		case '[':
			list := []any{}
			for d.More() {
				v, err := decodeValue(d, doc, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	case nil:
		return nil, nil
	}
	return tok, nil
}

// canonical renders a decoded value as compact JSON with keys in document
// order (for the Principal element, which is compared as written).
func canonical(v any) string {
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case *object:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeCanonical(b, v.vals[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(v.String())
	default:
		vb, _ := json.Marshal(v)
		b.Write(vb)
	}
}

// Document renders p as a policy document that Parse reads back to p
// (but for the statements' Text): the canonical form of its elements.
func (p *Policy) Document() string {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := ""
	field := func(name string, v any) {
		kb, _ := json.Marshal(name)
		vb, _ := json.Marshal(v)
		b.WriteString(sep)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		sep = ","
	}
	if p.Version != "" {
		field("Version", p.Version)
	}
	if p.ID != "" {
		field("Id", p.ID)
	}
	b.WriteString(sep + `"Statement":[`)
	for i, s := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.document())
	}
	b.WriteString("]}")
	return b.String()
}

func (s Statement) document() string {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := ""
	field := func(name string, raw []byte) {
		kb, _ := json.Marshal(name)
		b.WriteString(sep)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(raw)
		sep = ","
	}
	marshal := func(v any) []byte { vb, _ := json.Marshal(v); return vb }
	if s.Sid != "" {
		field("Sid", marshal(s.Sid))
	}
	field("Effect", marshal(s.Effect))
	if s.Principal != "" {
		name := "Principal"
		if s.NotPrincipal {
			name = "NotPrincipal"
		}
		field(name, []byte(s.Principal))
	}
	action := "Action"
	if s.NotAction {
		action = "NotAction"
	}
	field(action, marshal(s.Actions))
	resource := "Resource"
	if s.NotResource {
		resource = "NotResource"
	}
	field(resource, marshal(s.Resources))
	if len(s.Conditions) > 0 {
		var cb bytes.Buffer
		cb.WriteByte('{')
		for i := 0; i < len(s.Conditions); {
			op := s.Conditions[i].Operator
			if i > 0 {
				cb.WriteByte(',')
			}
			cb.Write(marshal(op))
			cb.WriteString(":{")
			for j := i; j < len(s.Conditions) && s.Conditions[j].Operator == op; j++ {
				if j > i {
					cb.WriteByte(',')
				}
				cb.Write(marshal(s.Conditions[j].Key))
				cb.WriteByte(':')
				cb.Write(marshal(s.Conditions[j].Values))
			}
			cb.WriteByte('}')
			for i < len(s.Conditions) && s.Conditions[i].Operator == op {
				i++
			}
		}
		cb.WriteByte('}')
		field("Condition", cb.Bytes())
	}
	b.WriteByte('}')
	return b.String()
}
