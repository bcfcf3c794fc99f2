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
