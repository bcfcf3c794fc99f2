package commands

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rootctl/rootctl/awsconfig"
)

// runAsRootctl runs the test binary as rootctl (see TestMain) with exactly
// the environment env, as a user's shell would, and returns its exit code,
// stdout and stderr: what reaches the real terminal, the SDK's own log
// lines included.
func runAsRootctl(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(env, "ROOTCTL_TEST_AS_ROOTCTL=1", "PATH="+os.Getenv("PATH"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// TestNoCredentialsIsOneLine: with no credentials anywhere, the first run
// prints one line naming the fixes, exits 1, and the SDK's own log lines
// (here its warning that IMDSv2 was refused) never reach the terminal. The
// EC2 metadata service is a local server that knows no role, as on a
// laptop or an instance without one. Each case runs in a process of its
// own with its own environment, so the cases run in parallel.
func TestNoCredentialsIsOneLine(t *testing.T) {
	t.Parallel()
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "", map[bool]int{true: http.StatusForbidden, false: http.StatusNotFound}[r.Method == http.MethodPut])
	}))
	t.Cleanup(imds.Close)
	// silent accepts connections and never answers, like a firewall that
	// drops packets to the metadata address.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte(`[profile bare]
region = eu-west-1
[profile sso]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = Admin
region = us-east-1
`), 0o600)
	base := []string{"HOME=" + dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL,
		"AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none")}
	const noCreds = "rootctl: no AWS credentials found: run aws sso login (or aws configure), pass --profile NAME, or try rootctl with --sim\n"
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no configuration at all", []string{"HOME=" + dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL}, []string{"status"}, noCreds},
		{"no configuration, and nothing answers at the metadata address", []string{"HOME=" + dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + silent.Addr().String()}, []string{"status"}, noCreds},
		{"a config without the default profile", base, []string{"audit"}, noCreds},
		{"--profile naming a profile without credentials", base, []string{"status", "--profile", "bare"}, noCreds},
		{"AWS_PROFILE naming a profile without credentials", append(base, "AWS_PROFILE=bare"), []string{"delete", "--reason", "r", "--all-accounts", "--dry-run"}, noCreds},
		{"an SSO profile never logged in", base, []string{"status", "--profile", "sso"},
			"rootctl: the AWS SSO session of profile sso has expired or was never started: run aws sso login --profile sso\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			code, out, stderr := runAsRootctl(t, tc.env, tc.args...)
			if code != ExitFailure || out != "" || stderr != tc.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, stderr, tc.want)
			}
			if d := time.Since(start); d > awsconfig.CredentialCheckTimeout+2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
