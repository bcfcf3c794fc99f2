package commands

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
)

// TestMain lets the test binary stand in for rootctl when a shell script
// under test runs it (ROOTCTL_TEST_AS_ROOTCTL=1).
func TestMain(m *testing.M) {
	if os.Getenv("ROOTCTL_TEST_AS_ROOTCTL") == "1" {
		os.Exit(Run(context.Background(), append([]string{"rootctl"}, os.Args[1:]...), &Deps{IO: System()}))
	}
	os.Exit(m.Run())
}

func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	_, script, _ := h.run("completion", "bash")
	file := filepath.Join(t.TempDir(), "rootctl.bash")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words string // what was typed, the last word being completed
		want  string
	}{
		{"rootctl au", "audit"},
		{"rootctl hook ", "account-created"},
		{"rootctl audit --ex", "--exclude --exit-zero --exceptions"},
		{"rootctl unlock s", "s3 sqs"},
	} {
		words := strings.Fields(tc.words)
		if strings.HasSuffix(tc.words, " ") {
			words = append(words, "")
		}
		words[0] = self
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellQuote(w))
		}
		cmd := exec.Command(bash, "--norc", "-c", `source "$1"; COMP_WORDS=(`+strings.Join(quoted, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _rootctl_complete; echo "${COMPREPLY[*]}"`, "bash", file)
		cmd.Env = append(os.Environ(), "ROOTCTL_TEST_AS_ROOTCTL=1")
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%q completes to %q (%v), want %q", tc.words, got, err, tc.want)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "#compdef rootctl", "fish": "complete -c rootctl"} {
		code, out, stderr := h.run("completion", shell)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %q…: %s", shell, code, out[:min(len(out), 60)], stderr)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "powershell"}, {"completion", "bash", "zsh"}} {
		if code, _, stderr := h.run(args...); code != ExitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want a one-line usage error", args, code, stderr)
		}
	}
}
