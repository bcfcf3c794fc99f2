package commands

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
)

// The simulator answers the AWS CLI as it answers the Go SDK. The machine
// image ships the AWS CLI v1; where it is absent the test is skipped.
func TestAWSCLIAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	env := []string{
		"AWS_ENDPOINT_URL=" + h.srv.URL(), "AWS_ACCESS_KEY_ID=" + h.creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + h.creds.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sts", "get-caller-identity", "--query", "Arn", "--output", "text"}, "arn:aws:iam::111111111111:user/rootctl-operator"},
		{[]string{"iam", "list-organizations-features", "--query", "OrganizationId", "--output", "text"}, "o-demo7rootctl"},
		{[]string{"organizations", "describe-account", "--account-id", "444444444404", "--query", "Account.State", "--output", "text"}, "SUSPENDED"},
		{[]string{"sts", "assume-root", "--target-principal", "333333333301", "--task-policy-arn",
			"arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials", "--query", "Credentials.AccessKeyId", "--output", "text"}, "ASIA"},
	}
	for _, tt := range tests {
		cmd := exec.Command("aws", tt.args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), tt.want) {
			t.Errorf("aws %s: %v\n%s", strings.Join(tt.args[:2], " "), err, out)
		}
	}
}

// The AWS CLI with a member account's own administrator keys is refused the
// deny-all bucket and queue policies of that account, with AWS's code and
// message: only the root session rootctl opens can read them.
func TestAWSCLIMemberAdministratorIsLockedOut(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	tests := []struct {
		name    string
		account string
		args    []string
		want    string
	}{
		{"s3api get-bucket-policy of the deny-all bucket", "444444444402",
			[]string{"s3api", "get-bucket-policy", "--bucket", "dev-tools-artifacts"},
			`An error occurred (AccessDenied) when calling the GetBucketPolicy operation: User: arn:aws:iam::444444444402:user/rootctl-operator is not authorized to perform: s3:GetBucketPolicy on resource: "arn:aws:s3:::dev-tools-artifacts" with an explicit deny in a resource-based policy`},
		{"sqs get-queue-attributes of the deny-all queue", "444444444403",
			[]string{"sqs", "get-queue-attributes", "--queue-url", h.srv.URL() + "/444444444403/dev-events-orders", "--attribute-names", "Policy"},
			`An error occurred (AccessDenied) when calling the GetQueueAttributes operation: User: arn:aws:iam::444444444403:user/rootctl-operator is not authorized to perform: sqs:getqueueattributes on resource: arn:aws:sqs:us-east-1:444444444403:dev-events-orders with an explicit deny in a resource-based policy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := h.srv.Credentials(tt.account)
			// --endpoint-url, not only AWS_ENDPOINT_URL: CLI v1 replaces the
			// SQS endpoint with queue.amazonaws.com unless it is given on the
			// command line (awscli/customizations/overridesslcommonname.py).
			cmd := exec.Command("aws", append(tt.args, "--endpoint-url", h.srv.URL())...)
			cmd.Env = []string{
				"AWS_ENDPOINT_URL=" + h.srv.URL(), "AWS_ACCESS_KEY_ID=" + keys.AccessKeyID,
				"AWS_SECRET_ACCESS_KEY=" + keys.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1", "AWS_MAX_ATTEMPTS=1",
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
			}
			out, err := cmd.CombinedOutput()
			if err == nil || strings.TrimSpace(string(out)) != tt.want {
				t.Fatalf("aws %s: %v\n%s\nwant the error\n%s", strings.Join(tt.args[:2], " "), err, out, tt.want)
			}
		})
	}
}

// The AWS CLI, given the callers `rootctl sim serve` prints, meets every
// refusal of AssumeRoot as AWS gives it: a member account's administrator,
// a root user's own access keys and an account outside the organization
// are denied, the global STS endpoint does not know the action, and the
// delegated administrator gets a session. (A client clock off by more than
// 15 minutes is refused too, but faking the CLI's clock is impractical: the
// SDK tests pin that, TestAnAuditCompletesAgainstAnAWSClockTwentyMinutesAhead.)
func TestTheAWSCLIMeetsEveryRefusalOfAssumeRoot(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	s := parseSimOutput(t, serveSim(t))
	if len(s.callers) == 0 || s.globalURL == "" {
		t.Fatalf("sim serve printed %d callers and global endpoint %q", len(s.callers), s.globalURL)
	}
	assumeRoot := []string{"sts", "assume-root", "--target-principal", s.target, "--task-policy-arn",
		"arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials", "--query", "Credentials.AccessKeyId", "--output", "text"}
	run := func(t *testing.T, key, secret string, extra ...string) (string, error) {
		cmd := exec.Command("aws", append(append([]string{}, assumeRoot...), extra...)...)
		cmd.Env = []string{
			"AWS_ENDPOINT_URL=" + s.env["AWS_ENDPOINT_URL"], "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret,
			"AWS_DEFAULT_REGION=" + s.env["AWS_DEFAULT_REGION"], "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	type refusal struct {
		name        string
		key, secret string
		extra       []string
		wantCode    string // "" for a session
	}
	var cases []refusal
	for _, c := range s.callers {
		code := c.answer
		if code == "succeeds" {
			code = ""
		}
		cases = append(cases, refusal{name: c.what, key: c.key, secret: c.secret, wantCode: code})
	}
	cases = append(cases, refusal{name: "the global STS endpoint", key: s.env["AWS_ACCESS_KEY_ID"], secret: s.env["AWS_SECRET_ACCESS_KEY"],
		extra: []string{"--endpoint-url", s.globalURL}, wantCode: "InvalidAction"})
	seen := map[string]int{}
	for _, tt := range cases {
		seen[tt.wantCode]++
	}
	if seen[""] != 1 || seen["AccessDenied"] != 3 || seen["InvalidAction"] != 1 {
		t.Fatalf("cases by answer %v, want a session, three AccessDenied and an InvalidAction", seen)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t, tt.key, tt.secret, tt.extra...)
			switch {
			case tt.wantCode == "" && (err != nil || !strings.HasPrefix(out, "ASIA")):
				t.Errorf("%v, want a session\n%s", err, out)
			case tt.wantCode != "" && (err == nil || !strings.Contains(out, "An error occurred ("+tt.wantCode+") when calling the AssumeRoot operation")):
				t.Errorf("%v, want %s\n%s", err, tt.wantCode, out)
			}
		})
	}
}

// The AWS CLI follows every page the simulator gives, as it does AWS's:
// with pages of one item, and the first page empty, it still lists every
// account, OU path, trusted service and delegated administrator, and IAM's
// organization features.
func TestTheAWSCLIFollowsEveryPage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	h := newHarness(t, demoOrg(t), fixtures.Options{PageSize: 1, EmptyFirstPage: true})
	env := []string{
		"AWS_ENDPOINT_URL=" + h.srv.URL(), "AWS_ACCESS_KEY_ID=" + h.creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + h.creds.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
	}
	// The text output of CLI v1 applies --query page by page: one line
	// per item here, whichever page it came on.
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"organizations", "list-accounts", "--query", "Accounts[].Id"}, []string{
			"111111111111", "222222222201", "222222222202", "333333333301", "333333333302", "333333333303", "333333333304",
			"444444444401", "444444444402", "444444444403", "444444444404", "444444444405", "555555555501", "555555555502", "555555555503",
			"666666666601", "666666666602", "888888888801"}},
		{[]string{"organizations", "list-accounts-for-parent", "--parent-id", "ou-d3m0-dev00001", "--query", "Accounts[].Id"},
			[]string{"444444444401", "444444444402", "444444444403", "444444444404", "444444444405"}},
		{[]string{"organizations", "list-aws-service-access-for-organization", "--query", "EnabledServicePrincipals[].ServicePrincipal"}, []string{"iam.amazonaws.com"}},
		{[]string{"organizations", "list-delegated-administrators", "--query", "DelegatedAdministrators[].Id"}, []string{"222222222201"}},
		{[]string{"organizations", "describe-account", "--account-id", "333333333303", "--query", "Account.Paths[0]"},
			[]string{"o-demo7rootctl/r-d3m0/ou-d3m0-prod0001/ou-d3m0-prodeu01/333333333303/"}},
	} {
		cmd := exec.Command("aws", append(tt.args, "--output", "text")...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		got := strings.Fields(string(out))
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("aws %s: %v\n%q\nwant %q", strings.Join(tt.args[:2], " "), err, got, tt.want)
		}
	}
	pages := 0
	for _, c := range h.srv.Calls() {
		if c.Operation == "ListAccounts" {
			pages++
		}
	}
	if pages != 19 { // an empty first page, then one account a page
		t.Errorf("the CLI read %d ListAccounts pages, want 19", pages)
	}
}
