package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
)

// A profile with role_arn and mfa_serial loads (region from the profile) and
// asks nothing until credentials are needed. Not parallel: it sets the AWS_*
// environment the SDK reads.
func TestMFAProfileLoads(t *testing.T) {
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte(`[profile operator]
region = eu-west-1
role_arn = arn:aws:iam::111111111111:role/rootctl
mfa_serial = arn:aws:iam::111111111111:mfa/operator
source_profile = base
[profile base]
region = eu-west-1
`), 0o600)
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(creds, []byte("[base]\naws_access_key_id = "+h.creds.AccessKeyID+"\naws_secret_access_key = "+h.creds.SecretAccessKey+"\n"), 0o600)
	for k, v := range map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_ENDPOINT_URL": h.srv.URL(),
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": ""} {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	io := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	env, err := loadAWS(context.Background(), AWSOptions{Profile: "operator"}, io)
	if err != nil {
		t.Fatal(err)
	}
	if env.AWS.Region != "eu-west-1" {
		t.Fatalf("region from the profile = %q", env.AWS.Region)
	}
	if errOut.Len() != 0 {
		t.Fatalf("loading the profile prompted early: %q", errOut.String())
	}
}

func TestMFAPromptReadsTheCode(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	io := &IOStreams{In: strings.NewReader(" 123456 \n"), ErrOut: &errOut}
	code, err := mfaPrompt(io, "arn:aws:iam::111111111111:mfa/operator")()
	if err != nil || code != "123456" || errOut.String() != "Enter MFA code for arn:aws:iam::111111111111:mfa/operator: " {
		t.Fatalf("code %q, err %v, prompt %q", code, err, errOut.String())
	}
	if _, err := mfaPrompt(&IOStreams{In: strings.NewReader(""), ErrOut: &errOut}, "x")(); err == nil {
		t.Fatal("no code on stdin must be an error")
	}
}
