package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runReal runs rootctl with the default AWS loading, as a user would.
func runReal(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"rootctl"}, args...), &Deps{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}})
	return code, out.String(), errOut.String()
}

func TestSimFlagRunsTheEmbeddedOrganization(t *testing.T) {
	t.Parallel()
	code, out, stderr := runReal("audit", "--sim", "-o", "json")
	// The demo's Legacy OU refuses root sessions (a deny-root SCP): two
	// accounts are blocked, and the run is partial.
	if code != ExitPartial {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r AuditReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Summary.WithRootCredentials != 7 || r.Summary.Blocked != 2 || r.Summary.Errors != 0 {
		t.Fatalf("report: %v %+v", err, r.Summary)
	}
	code, out, stderr = runReal("audit", "--sim=fresh", "-o", "json")
	if code != ExitFailure || out != "" || !strings.Contains(stderr, "run: rootctl enable") {
		t.Fatalf("--sim=fresh: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runReal("status", "--sim=synthetic:25", "-o", "json")
	if code != 0 || !strings.Contains(out, `"organization_id": "o-synthetic0000"`) {
		t.Fatalf("--sim=synthetic:25: exit %d\n%s", code, out)
	}
	code, _, stderr = runReal("audit", "--sim=/no/such/file.json")
	if code != ExitUsage || !strings.Contains(stderr, "neither an embedded organization") {
		t.Fatalf("--sim with a missing file: exit %d: %s", code, stderr)
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"--version says the version", []string{"--version"}, 0, "rootctl dev\n", ""},
		{"help lists the exit codes", []string{"--help"}, 0, "3    audit found root credentials", ""},
		{"audit help has an example", []string{"audit", "--help"}, 0, "rootctl audit --sim", ""},
		{"an unknown command", []string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"the global STS endpoint is refused", []string{"status", "--sim", "--region", "aws-global"}, ExitUsage, "", "Regional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runReal(tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
			}
		})
	}
}

// TestEveryCommandHelpHasAnExample walks the whole command tree.
func TestEveryCommandHelpHasAnExample(t *testing.T) {
	t.Parallel()
	app := NewApp(&Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			p := append(append([]string(nil), path...), c.Name)
			code, out, stderr := runReal(append(p, "--help")...)
			if code != ExitOK || !regexp.MustCompile(`Examples:\s*\n\s+rootctl `).MatchString(out) {
				t.Errorf("rootctl %s --help: exit %d, no example:\n%s%s", strings.Join(p, " "), code, out, stderr)
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
}
