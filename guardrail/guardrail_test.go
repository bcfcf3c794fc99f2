package guardrail

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRefusesWhatIAMRefuses(t *testing.T) {
	t.Parallel()
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	tests := []struct {
		name, doc, want string
	}{
		{"text that is not JSON", `{nope`, "not valid JSON"},
		{"a list, not a document", `[]`, "not a JSON object"},
		{"data after the document", `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}} {}`, "data after the document"},
		{"a key given twice, which JSON decoders resolve differently", `{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}`, `key "Effect" appears twice`},
		{"an element outside the grammar", `{"Statement":[],"Extra":1}`, `unknown policy element "Extra"`},
		{"no Statement", `{"Version":"2012-10-17"}`, "no Statement"},
		{"an empty Statement list", `{"Statement":[]}`, "Statement is empty"},
		{"a statement without Effect", stmt(`{"Action":"*","Resource":"*"}`), "statement 1: no Effect"},
		{"an Effect in the wrong case", stmt(`{"Effect":"deny","Action":"*","Resource":"*"}`), "want Allow or Deny"},
		{"both Action and NotAction", stmt(`{"Effect":"Deny","Action":"*","NotAction":"iam:*","Resource":"*"}`), "both Action and NotAction"},
		{"neither Resource nor NotResource", stmt(`{"Effect":"Deny","Action":"*"}`), "neither Resource nor NotResource"},
		{"an empty Action list", stmt(`{"Effect":"Deny","Action":[],"Resource":"*"}`), "Action is an empty list"},
		{"an Action that is a number", stmt(`{"Effect":"Deny","Action":7,"Resource":"*"}`), "neither a string nor a list"},
		{"a Condition that is a list", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":[]}`), "Condition is not an object"},
		{"a condition value that is an object", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":{}}}}`), "want a value or a non-empty list"},
		{"an operator with no key", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}`), "names no key"},
		{"the second statement is broken", stmt(`{"Effect":"Deny","Action":"*","Resource":"*"},{"Effect":"Deny"}`), "statement 2:"},
		{"a document nested far too deep", `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}}`, "nested too deeply"},
		{"a document far over the size limit", `{"Statement":"` + strings.Repeat("x", MaxDocument) + `"}`, "at most 5,120 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %+v, %v; want an error mentioning %q", p, err, tt.want)
			}
		})
	}
}

// awsSample is AWS's sample SCP "Prevent root credentials management in
// member accounts" (aws-samples/service-control-policy-examples), in its
// ArnLike form.
const awsSample = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*",
 "Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"Null":{"aws:AssumedRoot":"true"}}}]}`

func TestParseReadsTheAWSSample(t *testing.T) {
	t.Parallel()
	p, err := Parse(awsSample)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Statements[0]
	want := Statement{Sid: "DenyRootUser", Effect: Deny, Actions: []string{"*"}, Resources: []string{"*"},
		Conditions: []Condition{{"ArnLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:root"}}, {"Null", "aws:AssumedRoot", []string{"true"}}}}
	s.Text = ""
	if p.Version != "2012-10-17" || len(p.Statements) != 1 || !reflect.DeepEqual(s, want) {
		t.Fatalf("parsed %+v\nwant   %+v", s, want)
	}
	if !strings.HasPrefix(p.Statements[0].Text, `{"Sid":"DenyRootUser"`) || !strings.HasSuffix(p.Statements[0].Text, `"true"}}}`) {
		t.Fatalf("Text = %q, want the statement as written", p.Statements[0].Text)
	}
}

// rootSession is the request context of a call made in a root session of
// account 333333333301, under ou-ab12-prod0001.
func rootSession() Context {
	return Context{
		"aws:principalarn":      Single("arn:aws:iam::333333333301:root"),
		"aws:principalaccount":  Single("333333333301"),
		"aws:assumedroot":       Single("true"),
		"aws:principalorgid":    Single("o-abcdefghij"),
		"aws:principalorgpaths": Multi("o-abcdefghij/r-ab12/ou-ab12-prod0001/"),
		"sts:taskpolicyarn":     nil,
	}
}

// rootUser is the context of the same account's root user signing with
// its own access key: aws:AssumedRoot is absent.
func rootUser() Context {
	c := rootSession()
	c["aws:assumedroot"] = nil
	return c
}

func TestApplies(t *testing.T) {
	t.Parallel()
	iamRoot := "arn:aws:iam::333333333301:root"
	get := Request{Action: "iam:GetLoginProfile", Resource: iamRoot, Context: rootSession()}
	with := func(r Request, f func(*Request)) Request {
		r.Context = rootSession()
		f(&r)
		return r
	}
	deny := func(body string) string { return `{"Statement":{"Effect":"Deny",` + body + `}}` }
	tests := []struct {
		name   string
		doc    string
		kind   Kind
		req    Request
		want   Tri
		reason string // for Maybe
	}{
		{"AWS's sample spares a root session", awsSample, SCP, get, No, ""},
		{"AWS's sample denies the root user's own keys", awsSample, SCP, with(get, func(r *Request) { r.Context = rootUser() }), Yes, ""},
		{"a legacy deny-root SCP denies a root session", deny(`"Action":"*","Resource":["*"],"Condition":{"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}`), SCP, get, Yes, ""},
		{"actions match case-insensitively with wildcards", deny(`"Action":"IAM:get*","Resource":"*"`), SCP, get, Yes, ""},
		{"? matches exactly one character", deny(`"Action":"iam:GetLoginProfil?","Resource":"*"`), SCP, get, Yes, ""},
		{"an action outside the list", deny(`"Action":["iam:Delete*","s3:*"],"Resource":"*"`), SCP, get, No, ""},
		{"NotAction spares the actions it lists", deny(`"NotAction":"iam:*","Resource":"*"`), SCP, get, No, ""},
		{"NotAction denies the others", deny(`"NotAction":"s3:*","Resource":"*"`), SCP, get, Yes, ""},
		{"a resource pattern matches part by part", deny(`"Action":"*","Resource":"arn:aws:iam::*:root"`), SCP, get, Yes, ""},
		{"a user pattern does not match the root user", deny(`"Action":"*","Resource":"arn:aws:iam::*:user/*"`), SCP, get, No, ""},
		{"an action on no resource matches only *", deny(`"Action":"*","Resource":"arn:aws:iam::*:root"`), SCP,
			with(get, func(r *Request) { r.Action, r.Resource = "iam:GetAccountSummary", "*" }), No, ""},
		{"NotResource spares what it lists", deny(`"Action":"*","NotResource":"arn:aws:iam::*:root"`), SCP, get, No, ""},
		{"a resource that is not a whole ARN is not guessed at", deny(`"Action":"*","Resource":"arn:aws:iam::*"`), SCP, get, Maybe, "the Resource arn:aws:iam::*, which is not a whole ARN"},
		{"StringEquals on an absent key is false", deny(`"Action":"*","Resource":"*","Condition":{"StringEquals":{"sts:TaskPolicyArn":"x"}}`), SCP, get, No, ""},
		{"StringNotEquals on an absent key is true", deny(`"Action":"*","Resource":"*","Condition":{"StringNotEquals":{"sts:TaskPolicyArn":"x"}}`), SCP, get, Yes, ""},
		{"IfExists makes an absent key true", deny(`"Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"sts:TaskPolicyArn":"x"}}`), SCP, get, Yes, ""},
		{"IfExists still compares a present key", deny(`"Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:PrincipalAccount":"444444444401"}}`), SCP, get, No, ""},
		{"several values: a positive operator holds when any matches", deny(`"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":["1","333333333301"]}}`), SCP, get, Yes, ""},
		{"several values: a negated operator holds when none matches", deny(`"Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":["1","333333333301"]}}`), SCP, get, No, ""},
		{"keys are case-insensitive", deny(`"Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:principalACCOUNT":"333333333301"}}`), SCP, get, Yes, ""},
		{"StringEqualsIgnoreCase", deny(`"Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalArn":"ARN:AWS:IAM::333333333301:ROOT"}}`), SCP, get, Yes, ""},
		{"StringLike is case-sensitive", deny(`"Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"ARN:aws:iam::*:root"}}`), SCP, get, No, ""},
		{"ArnLike matches part by part: * does not cross a colon", deny(`"Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:*:root"}}`), SCP, get, No, ""},
		{"ArnEquals takes wildcards too", deny(`"Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:*:iam::*:root"}}`), SCP, get, Yes, ""},
		{"ArnNotLike on a value that is not an ARN holds", deny(`"Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalAccount":"arn:aws:iam::*:root"}}`), SCP, get, Yes, ""},
		{"Bool true matches a root session", deny(`"Action":"*","Resource":"*","Condition":{"Bool":{"aws:AssumedRoot":true}}`), SCP, get, Yes, ""},
		{"BoolIfExists false spares a root session", deny(`"Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:AssumedRoot":"false"}}`), SCP, get, No, ""},
		{"BoolIfExists false catches the root user's own keys", deny(`"Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:AssumedRoot":"false"}}`), SCP, with(get, func(r *Request) { r.Context = rootUser() }), Yes, ""},
		{"Null false holds for a present key", deny(`"Action":"*","Resource":"*","Condition":{"Null":{"aws:AssumedRoot":"false"}}`), SCP, get, Yes, ""},
		{"ForAnyValue:StringLike on the org paths", deny(`"Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abcdefghij/r-ab12/ou-ab12-prod0001/*"}}`), SCP, get, Yes, ""},
		{"ForAnyValue on an absent key is false", deny(`"Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"sts:TaskPolicyArn":"x"}}`), SCP, get, No, ""},
		{"ForAllValues on an absent key is true", deny(`"Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"sts:TaskPolicyArn":"x"}}`), SCP, get, Yes, ""},
		{"ForAllValues:StringNotLike when a path is under the OU", deny(`"Action":"*","Resource":"*","Condition":{"ForAllValues:StringNotLike":{"aws:PrincipalOrgPaths":"*/ou-ab12-prod0001/*"}}`), SCP, get, No, ""},
		{"a single-valued operator on a multivalued key is not guessed at", deny(`"Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalOrgPaths":"*"}}`), SCP, get, Maybe, "StringLike on the multivalued key aws:PrincipalOrgPaths without ForAnyValue or ForAllValues"},
		{"an operator not evaluated here", deny(`"Action":"*","Resource":"*","Condition":{"BinaryEquals":{"aws:PrincipalArn":"eA=="}}`), SCP, get, Maybe, "the condition operator BinaryEquals"},
		{"a key not known here", deny(`"Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), SCP, get, Maybe, "the condition operator IpAddress"},
		{"a string key not known here", deny(`"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}`), SCP, get, Maybe, "the condition key aws:RequestedRegion"},
		{"a policy variable", deny(`"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"${aws:ResourceAccount}"}}`), SCP, get, Maybe, "the policy variable in StringEquals aws:PrincipalAccount"},
		{"Null with IfExists is not IAM's", deny(`"Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:AssumedRoot":"true"}}`), SCP, get, Maybe, "the condition operator NullIfExists"},
		{"what cannot be evaluated does not matter when the action does not match", deny(`"Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"k":"eA=="}}`), SCP, get, No, ""},
		{"nor when another condition is false", deny(`"Action":"*","Resource":"*","Condition":{"BinaryEquals":{"k":"eA=="},"StringEquals":{"aws:PrincipalAccount":"1"}}`), SCP, get, No, ""},
		{"an RCP names every principal", `{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"*"}}`, RCP,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::b", Context: rootSession()}, Yes, ""},
		{"an RCP with the AWS form of every principal", `{"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:PutBucketPolicy","Resource":"*"}}`, RCP,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::b", Context: rootSession()}, Yes, ""},
		{"an SCP with a Principal is not guessed at", `{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}`, SCP, get, Maybe, "a Principal element in an SCP"},
		{"NotPrincipal is not guessed at", `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"*","Resource":"*"}}`, RCP, get, Maybe, "NotPrincipal"},
		{"an unknown bucket: a pattern of any bucket matches", deny(`"Action":"s3:*","Resource":"arn:aws:s3:::*"`), SCP,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::?", UnknownPart: 6, Context: rootSession()}, Yes, ""},
		{"an unknown bucket: a pattern of some buckets cannot be decided", deny(`"Action":"s3:*","Resource":"arn:aws:s3:::prod-*"`), SCP,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::?", UnknownPart: 6, Context: rootSession()}, Maybe, "the Resource arn:aws:s3:::prod-*, as the bucket's name is not known"},
		{"an unknown bucket: a queue pattern never matches", deny(`"Action":"*","Resource":"arn:aws:sqs:*:*:*"`), SCP,
			Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::?", UnknownPart: 6, Context: rootSession()}, No, ""},
		{"an unknown account: a pattern of any account matches", deny(`"Action":"sts:AssumeRoot","Resource":"arn:aws:iam::*:root"`), SCP,
			Request{Action: "sts:AssumeRoot", Resource: "arn:aws:iam::?:root", UnknownPart: 5, Context: Context{}}, Yes, ""},
		{"an unknown account: a pattern of one account cannot be decided", deny(`"Action":"sts:AssumeRoot","Resource":"arn:aws:iam::333333333301:root"`), SCP,
			Request{Action: "sts:AssumeRoot", Resource: "arn:aws:iam::?:root", UnknownPart: 5, Context: Context{}}, Maybe, "the Resource arn:aws:iam::333333333301:root, as the account is not known"},
		{"sts:TaskPolicyArn names the task asked for", deny(`"Action":"sts:AssumeRoot","Resource":"*","Condition":{"ArnNotEquals":{"sts:TaskPolicyArn":"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}`), SCP,
			Request{Action: "sts:AssumeRoot", Resource: iamRoot, Context: Context{"sts:taskpolicyarn": Single("arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials")}}, Yes, ""},
		{"sts:TaskPolicyArn of the audit task is spared", deny(`"Action":"sts:AssumeRoot","Resource":"*","Condition":{"ArnNotEquals":{"sts:TaskPolicyArn":"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}`), SCP,
			Request{Action: "sts:AssumeRoot", Resource: iamRoot, Context: Context{"sts:taskpolicyarn": Single("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")}}, No, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			got, why := p.Statements[0].Applies(tt.req, tt.kind)
			if got != tt.want || why != tt.reason {
				t.Fatalf("Applies = %v (%q), want %v (%q)", got, why, tt.want, tt.reason)
			}
		})
	}
}

func TestGlobTakesLinearTimeOnHostilePatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"", "", true},
		{"?", "", false},
		{"a*b?d", "axxbcd", true},
		{"a*b?d", "axxbd", false},
		{"*root", "arn:aws:iam::1:root", true},
		{"é?", "éé", true},
		{strings.Repeat("a*", 200) + "b", strings.Repeat("a", 5000), false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%.20q, %.20q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// FuzzParsePolicy feeds Parse arbitrary documents: it never panics, and a
// document it accepts renders (Document) to one it reads back the same,
// whose statements judge sample requests without panicking.
func FuzzParsePolicy(f *testing.F) {
	for _, seed := range []string{
		awsSample,
		`{"Version":"2012-10-17","Statement":[{"Sid":"GRRESTRICTROOTUSER","Effect":"Deny","Action":"*","Resource":["*"],"Condition":{"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`,
		`{"Statement":{"Effect":"Deny","Principal":"*","Action":["s3:PutBucketPolicy","s3:DeleteBucketPolicy"],"Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin"}}}}`,
		`{"Statement":{"Effect":"Deny","Action":"sts:AssumeRoot","Resource":"*","Condition":{"ArnNotEquals":{"sts:TaskPolicyArn":"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}}}}`,
		`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::x","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["o-x/*",1,true]},"NumericLessThan":{"k":1.5}}}]}`,
		`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:AssumedRoot":"true"},"BoolIfExists":{"aws:AssumedRoot":false}}}]}`,
		`{}`, `[]`, `{"Statement":{}}`, `{"Statement":{"Effect":"Deny","Effect":"Deny"}}`,
	} {
		f.Add(seed)
	}
	reqs := []Request{
		{Action: "iam:GetLoginProfile", Resource: "arn:aws:iam::333333333301:root", Context: rootSession()},
		{Action: "iam:GetAccountSummary", Resource: "*", Context: rootUser()},
		{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::?", UnknownPart: 6, Context: rootSession()},
		{Action: "sts:AssumeRoot", Resource: "arn:aws:iam::333333333301:root", Context: Context{"sts:taskpolicyarn": Single("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")}},
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy with its error %v", err)
			}
			return
		}
		again, err := Parse(p.Document())
		if err != nil {
			t.Fatalf("the rendering of an accepted policy is refused: %v\n%s", err, p.Document())
		}
		for i := range p.Statements {
			p.Statements[i].Text, again.Statements[i].Text = "", ""
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("read back differently:\n%+v\n%+v", p, again)
		}
		for _, s := range p.Statements {
			for _, r := range reqs {
				for _, k := range []Kind{SCP, RCP} {
					a, whyA := s.Applies(r, k)
					b, whyB := s.Applies(r, k)
					if a != b || whyA != whyB || (a == Maybe) != (whyA != "") {
						t.Fatalf("Applies is not a function of its input, or gives Maybe without a reason: %v %q / %v %q", a, whyA, b, whyB)
					}
				}
			}
		}
	})
}
