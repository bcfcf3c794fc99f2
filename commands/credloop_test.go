//go:build unix

package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
)

// TestCredentialProcessLoopStops runs the README's credential_process
// profile the way that loops: rootctl loads the profile (AWS_PROFILE), whose
// credential_process is rootctl credentials without --profile, so the child
// would load the same profile and start the next rootctl, thousands a
// minute. A wrapper script counts the rootctl processes the SDK starts and
// gives up after five. The child refuses at once with the line that names
// the fix, the parent reports the failed credential_process, and exactly
// one child ran.
func TestCredentialProcessLoopStops(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	wrapper := filepath.Join(dir, "rootctl")
	os.WriteFile(wrapper, []byte(`#!/bin/sh
echo x >> `+shellQuote(count)+`
if [ "$(wc -l < `+shellQuote(count)+`)" -gt 5 ]; then echo "wrapper: too many rootctl processes" >&2; exit 1; fi
exec `+shellQuote(self)+` "$@"
`), 0o700)
	config := filepath.Join(dir, "config")
	os.WriteFile(config, []byte(`[profile root-unlock]
region = us-east-1
credential_process = `+wrapper+` credentials --account 444444444402 --task s3-unlock --format process --reason INC-7
`), 0o600)
	start := time.Now()
	code, out, stderr := runAsRootctl(t, []string{"HOME=" + dir, "AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"AWS_PROFILE=root-unlock", "AWS_ENDPOINT_URL=http://127.0.0.1:1"}, "status")
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != ExitFailure || out != "" || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "rootctl: this rootctl was started by rootctl (process ") ||
		!strings.Contains(lines[0], "which would loop; run rootctl with --profile naming the profile with the management account's credentials") ||
		!strings.HasPrefix(lines[1], "rootctl: the credential_process of profile root-unlock failed: ") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
	if n, _ := os.ReadFile(count); strings.Count(string(n), "\n") != 1 {
		t.Errorf("%d rootctl processes were started for credentials, want 1", strings.Count(string(n), "\n"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestStartedByRootctlForCredentials: a rootctl whose environment carries
// another rootctl's mark refuses to load AWS credentials, with exit 2 and
// one line, before any AWS call; its own mark (left by an earlier load in
// the same process) and --sim, which loads none, are not refused.
func TestStartedByRootctlForCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, mark string
		args       []string
		code       int
	}{
		{"credentials started by another rootctl", "1", []string{"credentials", "--account", "444444444402", "--task", "audit", "--reason", "r"}, ExitUsage},
		{"any command started by another rootctl", "1", []string{"status"}, ExitUsage},
		{"--sim loads no credentials", "1", []string{"status", "--sim", "-o", "json"}, ExitOK},
	} {
		var out, errOut bytes.Buffer
		deps := &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			Getenv: func(k string) string {
				if k == credentialProcessMarker {
					return tc.mark
				}
				return ""
			}}
		code := Run(context.Background(), append([]string{"rootctl"}, tc.args...), deps)
		if code != tc.code || (code == ExitUsage && (out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "which would loop"))) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.name, code, out.String(), errOut.String())
		}
	}
}

// TestExecDropsTheCredentialProcessMark: the command exec runs is not
// loading rootctl's credentials, so the mark does not reach it (a rootctl
// it runs would otherwise refuse). Not parallel: it sets the environment.
func TestExecDropsTheCredentialProcessMark(t *testing.T) {
	t.Setenv(credentialProcessMarker, "1")
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("exec", "--account", "444444444402", "--task", "audit", "--reason", "r", "--",
		"sh", "-c", "echo ${"+credentialProcessMarker+":-none}")
	if code != ExitOK || out != "none\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
