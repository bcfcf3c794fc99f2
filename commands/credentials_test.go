package commands

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rootctl/rootctl/fixtures"
)

func TestCredentialsFormats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("credentials", "--account", "444444444402", "--task", "s3-unlock", "--format", "process", "--reason", "INC-7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p processCredentials
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Version != 1 || !strings.HasPrefix(p.AccessKeyID, "ASIA") || p.SecretAccessKey == "" || p.SessionToken == "" || p.Expiration == "" {
		t.Fatalf("credential_process output %q: %v", out, err)
	}
	// The credentials work, for the task they were issued for.
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(h.srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.GetBucketPolicy(context.Background(), &s3.GetBucketPolicyInput{Bucket: aws.String("dev-tools-artifacts")}); err != nil {
		t.Fatalf("using the session: %v", err)
	}
	// The audit log names the session, never its secret.
	entries := auditEntries(t, h)
	raw, _ := json.Marshal(entries)
	if strings.Contains(string(raw), p.SecretAccessKey) || strings.Contains(string(raw), p.SessionToken) {
		t.Fatal("a secret reached the audit log")
	}
	if len(entries) != 3 || entries[1].Action != "AssumeRoot" || entries[1].SessionKeyID != p.AccessKeyID || entries[2].Action != "credentials" {
		t.Fatalf("entries %+v", entries)
	}

	code, out, _ = h.run("credentials", "--account", "444444444402", "--task", "S3UnlockBucketPolicy", "--reason", "INC-7")
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_CREDENTIAL_EXPIRATION"} {
		if code != 0 || !strings.Contains(out, "export "+v+"='") {
			t.Fatalf("env format lacks %s: %s", v, out)
		}
	}
	code, out, _ = h.run("credentials", "--account", "444444444402", "--task", "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials", "--format", "json", "--duration", "5m", "--reason", "INC-7")
	var j sessionCredentials
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.TaskPolicyArn != "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials" || j.Account != "444444444402" {
		t.Fatalf("json format: %s", out)
	}
}

func TestSessionBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--task", "audit"}, "--account is required"},
		{[]string{"--account", "4444", "--task", "audit"}, "want a 12-digit account ID"},
		{[]string{"--account", "444444444402"}, "--task is required"},
		{[]string{"--account", "444444444402", "--task", "root"}, "want one of audit (IAMAuditRootUserCredentials)"},
		{[]string{"--account", "444444444402", "--task", "audit", "--duration", "901"}, "--duration"},
		{[]string{"--account", "444444444402", "--task", "audit", "--duration", "-5"}, "--duration"},
		{[]string{"--account", "444444444402", "--task", "audit", "--duration", "0"}, "--duration"},
		{[]string{"--account", "444444444402", "--task", "audit", "--duration", "soon"}, "--duration"},
		{[]string{"--account", "444444444402", "--task", "audit", "--format", "yaml"}, "--format"},
	}
	for _, tt := range tests {
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		code, _, stderr := h.run(append(append([]string{"credentials"}, tt.args...), "--reason", "x")...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) || len(h.srv.Calls()) != 0 {
			t.Errorf("%q: exit %d, %q, %d calls; want exit 2 and %q", tt.args, code, stderr, len(h.srv.Calls()), tt.want)
		}
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	t.Run("environment and exit code", func(t *testing.T) {
		code, out, stderr := h.run("exec", "--account", "444444444402", "--task", "s3-unlock", "--reason", "INC-7", "--",
			"sh", "-c", `echo "$AWS_ACCESS_KEY_ID $AWS_REGION ${AWS_PROFILE:-none} $AWS_CREDENTIAL_EXPIRATION"; exit 7`)
		if code != 7 {
			t.Fatalf("exit %d, want the command's 7: %s", code, stderr)
		}
		f := strings.Fields(out)
		if len(f) != 4 || !strings.HasPrefix(f[0], "ASIA") || f[1] != "us-east-1" || f[2] != "none" {
			t.Fatalf("the command saw %q", out)
		}
		if strings.Contains(stderr, "warning") {
			t.Fatalf("warned with 15 minutes left: %s", stderr)
		}
	})
	t.Run("warns in the last minute", func(t *testing.T) {
		code, _, stderr := h.run("exec", "--account", "444444444402", "--task", "audit", "--duration", "30", "--reason", "INC-7", "--", "true")
		if code != 0 || !strings.Contains(stderr, "less than a minute") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		before := len(h.srv.Calls())
		code, _, stderr := h.run("exec", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--", "no-such-command-rootctl")
		if code != ExitUsage || !strings.Contains(stderr, "not found") || len(h.srv.Calls()) != before {
			t.Fatalf("exit %d %q", code, stderr)
		}
	})
}

// exec hands the command the session and nothing that would make it use
// other credentials: every AWS_* credential, profile, Region and endpoint
// variable of rootctl's own environment is dropped, the session's set
// once each, and the rest passed through.
func TestExecHandsTheCommandOnlyTheSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	h.env = append([]string{"PATH=" + os.Getenv("PATH")}, // nothing of the test's own environment
		"AWS_PROFILE=evil", "AWS_DEFAULT_PROFILE=evil", "AWS_ACCESS_KEY_ID=AKIAEVILEVILEVILEVIL", "AWS_SECRET_ACCESS_KEY=evil",
		"AWS_SESSION_TOKEN=evil", "AWS_SECURITY_TOKEN=evil", "AWS_REGION=eu-west-9", "AWS_DEFAULT_REGION=eu-west-9",
		"AWS_CREDENTIAL_EXPIRATION=2000-01-01T00:00:00Z", "AWS_ENDPOINT_URL=http://evil.example", credentialProcessMarker+"=1",
		"ROOTCTL_TEST_KEPT=kept")
	code, out, stderr := h.run("exec", "--account", "444444444402", "--task", "s3-unlock", "--reason", "INC-7", "--", "env")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	seen := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		seen[k] = append(seen[k], v)
	}
	var aws []string
	for k, vs := range seen {
		if strings.HasPrefix(k, "AWS_") || k == credentialProcessMarker {
			for range vs {
				aws = append(aws, k)
			}
		}
	}
	slices.Sort(aws)
	want := []string{"AWS_ACCESS_KEY_ID", "AWS_CREDENTIAL_EXPIRATION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_REGION",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	if !slices.Equal(aws, want) {
		t.Fatalf("the command saw %q, want each of %q once", aws, want)
	}
	one := func(k string) string { return seen[k][0] }
	if !strings.HasPrefix(one("AWS_ACCESS_KEY_ID"), "ASIA") || one("AWS_SECRET_ACCESS_KEY") == "evil" || one("AWS_SESSION_TOKEN") == "evil" ||
		one("AWS_REGION") != "us-east-1" || one("AWS_DEFAULT_REGION") != "us-east-1" || one("AWS_ENDPOINT_URL") != h.srv.URL() ||
		one("AWS_CREDENTIAL_EXPIRATION") == "2000-01-01T00:00:00Z" {
		t.Fatalf("the command saw key %s, region %s/%s, endpoint %s, expiry %s: want the session's", one("AWS_ACCESS_KEY_ID"),
			one("AWS_REGION"), one("AWS_DEFAULT_REGION"), one("AWS_ENDPOINT_URL"), one("AWS_CREDENTIAL_EXPIRATION"))
	}
	if got := seen["ROOTCTL_TEST_KEPT"]; !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("ROOTCTL_TEST_KEPT %q: the rest of the environment must pass through", got)
	}
}

// credentials takes -o like every command; --format, its former name,
// still works, and both at once must agree.
func TestCredentialsOutputFlag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout (exit 0) or stderr
	}{
		{"-o process", []string{"-o", "process"}, ExitOK, `"Version":1`},
		{"--output json", []string{"--output", "json"}, ExitOK, `"TaskPolicyArn"`},
		{"--format process, the former name", []string{"--format", "process"}, ExitOK, `"Version":1`},
		{"-o and --format that disagree", []string{"-o", "json", "--format", "process"}, ExitUsage, "--format is the former name of --output: pass one"},
		{"-o yaml", []string{"-o", "yaml"}, ExitUsage, `--output "yaml": want one of env, json, process`},
	} {
		args := append([]string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7"}, tc.args...)
		code, out, stderr := h.run(args...)
		got := out
		if tc.wantCode != ExitOK {
			got = stderr
		}
		if code != tc.wantCode || !strings.Contains(got, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d with %q", tc.name, code, out, stderr, tc.wantCode, tc.want)
		}
	}
}
