package commands

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootctl/rootctl/awserr"
)

// serveSim runs `rootctl sim serve` on the demo organization for one test
// and returns what it printed once it serves.
func serveSim(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- SimServe(ctx, SimServeInput{Addr: "127.0.0.1:0", Org: "demo"}, &out) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Serving until interrupted"); {
		if time.Now().After(deadline) {
			t.Fatalf("sim serve printed:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out.String()
}

// simCaller is one caller sim serve prints, with the answer to AssumeRoot
// it says the caller gets.
type simCaller struct {
	what, answer, key, secret string
}

// simOutput is what sim serve prints: the environment, the other callers,
// the global STS endpoint and the AssumeRoot command to try them with.
type simOutput struct {
	env       map[string]string
	callers   []simCaller
	globalURL string
	target    string
}

func parseSimOutput(t *testing.T, out string) simOutput {
	t.Helper()
	s := simOutput{env: map[string]string{}}
	for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`).FindAllStringSubmatch(out, -1) {
		s.env[m[1]] = m[2]
	}
	for _, m := range regexp.MustCompile(`(?m)^# (.+): (\w+)\n#   AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)$`).FindAllStringSubmatch(out, -1) {
		s.callers = append(s.callers, simCaller{m[1], m[2], m[3], m[4]})
	}
	if m := regexp.MustCompile(`(?m)^#   aws sts assume-root --target-principal (\d{12}) .* --endpoint-url (\S+)$`).FindStringSubmatch(out); m != nil {
		s.target, s.globalURL = m[1], m[2]
	}
	return s
}

// sim serve shows every case of AssumeRoot to an outside client: the
// management and delegated-admin callers that succeed, a member account's
// administrator, an account outside the organization, a root user's own
// keys, and the global STS endpoint, each refused as it says.
func TestSimServePrintsACallerForEveryAnswerOfAssumeRoot(t *testing.T) {
	t.Parallel()
	s := parseSimOutput(t, serveSim(t))
	wantCallers := []simCaller{
		{what: "Delegated administrator 222222222201 (iam.amazonaws.com)", answer: "succeeds"},
		{what: "Administrator of member account 222222222202 (neither the management account nor a delegated administrator)", answer: "AccessDenied"},
		{what: "Root user of member account 222222222202, with long-term access keys (a root user may not call AssumeRoot)", answer: "AccessDenied"},
		{what: "Administrator of account 999999999999, outside the organization", answer: "AccessDenied"},
	}
	if len(s.callers) != len(wantCallers) || s.target != "222222222202" || s.globalURL == "" {
		t.Fatalf("%d callers, target %q, global endpoint %q", len(s.callers), s.target, s.globalURL)
	}
	assumeRoot := func(endpoint, key, secret string) error {
		cfg := aws.Config{Region: s.env["AWS_REGION"], BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
			Retryer:     func() aws.Retryer { return aws.NopRetryer{} }}
		_, err := sts.NewFromConfig(cfg).AssumeRoot(context.Background(), &sts.AssumeRootInput{TargetPrincipal: aws.String(s.target),
			TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")}})
		return err
	}
	for i, c := range s.callers {
		if c.what != wantCallers[i].what || c.answer != wantCallers[i].answer {
			t.Errorf("caller %d: %q: %s, want %q: %s", i, c.what, c.answer, wantCallers[i].what, wantCallers[i].answer)
		}
		err := assumeRoot(s.env["AWS_ENDPOINT_URL"], c.key, c.secret)
		if got := errorCodeOrSuccess(err); got != c.answer {
			t.Errorf("%s: AssumeRoot answered %s (%v), sim serve says %s", c.what, got, err, c.answer)
		}
	}
	err := assumeRoot(s.globalURL, s.env["AWS_ACCESS_KEY_ID"], s.env["AWS_SECRET_ACCESS_KEY"])
	if got := errorCodeOrSuccess(err); got != "InvalidAction" {
		t.Errorf("the global STS endpoint answered %s (%v), want InvalidAction", got, err)
	}
}

func errorCodeOrSuccess(err error) string {
	if err == nil {
		return "succeeds"
	}
	if code := awserr.Code(err); code != "" {
		return code
	}
	return err.Error()
}
