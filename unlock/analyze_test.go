package unlock

import (
	"errors"
	"slices"
	"testing"
)

func TestAnalyze(t *testing.T) {
	const bucket = "arn:aws:s3:::b"
	tests := []struct {
		name    string
		service string
		policy  string
		want    []string // "index sid except" of the locking statements
	}{
		{"unconditional deny-all", "s3", `{"Statement":[{"Sid":"X","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`, []string{"0 X "}},
		{"AWS star principal, single statement object", "s3", `{"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}}`, []string{"0  "}},
		{"AWS principal list holding star", "s3", `{"Statement":[{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":["s3:GetObject","S3:*"],"Resource":"arn:aws:s3:::b*"}]}`, []string{"0  "}},
		{"retired VPC endpoint", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}`, []string{"0  aws:SourceVpce is vpce-1"}},
		{"principal ARN allow-list", "sqs", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::1:role/a","arn:aws:iam::1:role/b"]}}}]}`, []string{"0  aws:PrincipalArn matches arn:aws:iam::1:role/a or arn:aws:iam::1:role/b"}},
		{"TLS-only is not a lockout", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, nil},
		{"one permissive key is enough to get through", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"},"Bool":{"aws:SecureTransport":"false"}}}]}`, nil},
		{"deny on objects only leaves the bucket policy reachable", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`, nil},
		{"some actions only", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"*"}]}`, nil},
		{"another service's wildcard", "sqs", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`, nil},
		{"one principal only", "s3", `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:user/x"},"Action":"s3:*","Resource":"*"}]}`, nil},
		{"NotPrincipal lets the named ones through", "s3", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}]}`, nil},
		{"NotAction", "s3", `{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}]}`, nil},
		{"allow-all", "s3", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, nil},
		{"second statement locks", "s3", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},{"Sid":"L","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`, []string{"1 L "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn := bucket
			if tt.service == "sqs" {
				arn = "arn:aws:sqs:us-east-1:111122223333:q"
			}
			a, err := Analyze(tt.service, arn, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range a.Locks {
				got = append(got, itoa(l.Index)+" "+l.Sid+" "+l.Except)
			}
			if !slices.Equal(got, tt.want) || a.Lockout() != (len(tt.want) > 0) {
				t.Fatalf("locks %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestAnalyzeRejectsWhatIsNotAPolicy(t *testing.T) {
	for _, doc := range []string{``, `[]`, `{"Statement":[`, `{}`, `{"Statement":[]}`, `{"Statement":"x"}`, `{"Statement":[{"Effect":"Maybe"}]}`} {
		if _, err := Analyze("s3", "", doc); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%q: err %v, want ErrInvalidPolicy", doc, err)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true}, {"arn:aws:s3:::b", "arn:aws:s3:::b", true}, {"arn:aws:s3:::b*", "arn:aws:s3:::bucket", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false}, {"arn:aws:s3:::?", "arn:aws:s3:::b", true}, {"arn:aws:s3:::?", "arn:aws:s3:::", false},
	} {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

// FuzzAnalyze: any input either fails as an invalid policy or is analysed
// without panicking, and every lock it names is a Deny statement that exists.
func FuzzAnalyze(f *testing.F) {
	f.Add(`{"Statement":[{"Sid":"X","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`)
	f.Add(`{"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"v"}}}}`)
	f.Add(`{"Statement":[{"Effect":"Allow"}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		a, err := Analyze("s3", "arn:aws:s3:::b", doc)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v is not ErrInvalidPolicy", err)
			}
			return
		}
		list, _ := parse(doc)
		for _, l := range a.Locks {
			if l.Index >= len(list) || list[l.Index].Effect != "Deny" {
				t.Fatalf("lock %+v is not a Deny statement of %s", l, doc)
			}
		}
	})
}
