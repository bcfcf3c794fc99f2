//go:build unix

package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rootctl/rootctl/evidence"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/unlock"
)

// TestEveryInputFileIsCapped names /dev/zero, a named pipe with no writer
// and a file one byte over the limit to every flag that reads a file:
// each is refused at once with exit 2 and one line, before anything is
// asked of AWS. Each run has 10 seconds; before the caps, /dev/zero filled
// the memory and the pipe blocked for ever.
func TestEveryInputFileIsCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	over := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte(" "), n+1), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	overFixture := over("org.json", fixtures.MaxFixtureSize)
	overBackup := over("backup.json", unlock.MaxBackupSize)
	overPolicy := over("policy.json", maxPolicyFile)
	overEvent := over("event.json", maxEvent)
	overExceptions := over("exceptions.yaml", evidence.ExceptionsLimit)
	overBaseline := filepath.Join(dir, "baseline.json") // sparse: 128 MiB of nothing
	if err := os.WriteFile(overBaseline, nil, 0o600); err != nil || os.Truncate(overBaseline, baselineLimit+1) != nil {
		t.Fatal("cannot make a sparse file", err)
	}

	unlockArgs := []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "r", "--yes"}
	restoreArgs := []string{"unlock", "s3", "--reason", "r", "--yes", "--restore"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"--sim with /dev/zero", []string{"audit", "--sim=/dev/zero"}, "--sim: fixture /dev/zero: not a regular file"},
		{"--sim with a named pipe", []string{"audit", "--sim=" + fifo}, "--sim: fixture " + fifo + ": not a regular file"},
		{"--sim with a file over 16 MiB", []string{"audit", "--sim=" + overFixture}, "larger than 16 MiB"},
		{"sim serve --org with /dev/zero", []string{"sim", "serve", "--addr", "127.0.0.1:0", "--org", "/dev/zero"}, "--org: fixture /dev/zero: not a regular file"},
		{"sim serve --org with a named pipe", []string{"sim", "serve", "--addr", "127.0.0.1:0", "--org", fifo}, "not a regular file"},
		{"sim serve --org with a file over 16 MiB", []string{"sim", "serve", "--addr", "127.0.0.1:0", "--org", overFixture}, "larger than 16 MiB"},
		{"--restore with /dev/zero", append(restoreArgs, "/dev/zero"), "--restore: /dev/zero: not a regular file (it is a character device)"},
		{"--restore with a named pipe", append(restoreArgs, fifo), "--restore: " + fifo + ": not a regular file (it is a named pipe)"},
		{"--restore with a file over 1 MiB", append(restoreArgs, overBackup), "--restore: " + overBackup + ": file too large: the limit is 1 MiB"},
		{"--policy-file with /dev/zero", append(unlockArgs, "--policy-file", "/dev/zero"), "--policy-file: /dev/zero: not a regular file (it is a character device)"},
		{"--policy-file with a named pipe", append(unlockArgs, "--policy-file", fifo), "--policy-file: " + fifo + ": not a regular file (it is a named pipe)"},
		{"--policy-file over 20 KB", append(unlockArgs, "--policy-file", overPolicy), "is over 20 KB"},
		{"--event with /dev/zero", []string{"hook", "account-created", "--event", "/dev/zero"}, "--event: /dev/zero: not a regular file (it is a character device)"},
		{"--event with a named pipe", []string{"hook", "account-created", "--event", fifo}, "--event: " + fifo + ": not a regular file (it is a named pipe)"},
		{"--event over 256 KB", []string{"hook", "account-created", "--event", overEvent}, "larger than an EventBridge event"},
		{"--exceptions with /dev/zero", []string{"audit", "--exceptions", "/dev/zero"}, "--exceptions: /dev/zero: not a regular file (it is a character device)"},
		{"--exceptions with a named pipe", []string{"audit", "--exceptions", fifo}, "--exceptions: " + fifo + ": not a regular file (it is a named pipe)"},
		{"--exceptions over 1 MiB", []string{"audit", "--exceptions", overExceptions}, "--exceptions: " + overExceptions + ": file too large: the limit is 1 MiB"},
		{"--baseline with /dev/zero", []string{"audit", "--baseline", "/dev/zero"}, "--baseline: /dev/zero: not a regular file (it is a character device)"},
		{"--baseline with a named pipe", []string{"audit", "--baseline", fifo}, "--baseline: " + fifo + ": not a regular file (it is a named pipe)"},
		{"--baseline over 128 MiB", []string{"audit", "--baseline", overBaseline}, "--baseline: " + overBaseline + ": file too large: the limit is 128 MiB"},
	} {
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		type result struct {
			code        int
			out, stderr string
		}
		done := make(chan result, 1)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			var out, errOut bytes.Buffer
			deps := h.deps(&out, &errOut)
			if strings.HasPrefix(tc.args[1], "--sim") {
				deps.LoadAWS = nil // rootctl's own loading, which starts the simulator
			}
			code := Run(ctx, append([]string{"rootctl"}, tc.args...), deps)
			done <- result{code, out.String(), errOut.String()}
		}()
		select {
		case r := <-done:
			if r.code != ExitUsage || r.out != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.name, r.code, r.out, r.stderr, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: still running after 10 seconds", tc.name)
		}
		cancel()
		if n := len(h.srv.Calls()); n != 0 {
			t.Errorf("%s: %d calls reached AWS", tc.name, n)
		}
	}
}

// TestHookEventOnStdinIsCapped: an endless stdin is read up to the limit
// of an EventBridge event and refused.
func TestHookEventOnStdinIsCapped(t *testing.T) {
	t.Parallel()
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	var out, errOut bytes.Buffer
	deps := &Deps{IO: &IOStreams{In: zero, Out: &out, ErrOut: &errOut}}
	code := Run(context.Background(), []string{"rootctl", "hook", "account-created", "--event", "-"}, deps)
	if code != ExitUsage || out.Len() != 0 || errOut.String() != "rootctl: --event -: larger than an EventBridge event (256 KB)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
