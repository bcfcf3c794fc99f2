package commands

import (
	"os"
	"os/exec"
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
