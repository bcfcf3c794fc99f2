package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	const rev = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			Main: debug.Module{Path: "github.com/rootctl/rootctl", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "-trimpath", Value: "true"},
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: rev},
				{Key: "vcs.time", Value: "2026-11-25T09:58:12Z"},
				{Key: "vcs.modified", Value: modified},
			},
		}
	}
	tests := []struct {
		name                      string
		ldVersion, ldCommit, date string
		info                      *debug.BuildInfo
		want                      string
	}{
		{"a release build says version, commit and build time from ldflags", "v1.2.3", "1a2b3c4", "2026-11-25T10:00:00Z", vcs("false"),
			"rootctl v1.2.3 (commit 1a2b3c4, built 2026-11-25T10:00:00Z)"},
		{"ldflags win over the build information the toolchain recorded", "v1.2.3", "9f8e7d6", "2026-11-25T10:00:00Z", vcs("true"),
			"rootctl v1.2.3 (commit 9f8e7d6, built 2026-11-25T10:00:00Z)"},
		{"a build from a clean checkout says the short revision and the commit's time", "", "", "", vcs("false"),
			"rootctl dev (commit 1a2b3c4, 2026-11-25T09:58:12Z)"},
		{"a build from a modified checkout is marked dirty", "", "", "", vcs("true"),
			"rootctl dev (commit 1a2b3c4-dirty, 2026-11-25T09:58:12Z)"},
		{"go install of a tagged module says the module version alone", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/rootctl/rootctl", Version: "v1.2.3"}},
			"rootctl v1.2.3"},
		{"a pseudo-version Go recorded is kept, with the revision beside it", "", "", "",
			func() *debug.BuildInfo {
				bi := vcs("true")
				bi.Main.Version = "v0.0.0-20261125095812-1a2b3c4d5e6f+dirty"
				return bi
			}(),
			"rootctl v0.0.0-20261125095812-1a2b3c4d5e6f+dirty (commit 1a2b3c4-dirty, 2026-11-25T09:58:12Z)"},
		{"a build with no VCS information and no ldflags is dev", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/rootctl/rootctl", Version: "(devel)"}},
			"rootctl dev"},
		{"no build information at all is dev", "", "", "", nil, "rootctl dev"},
		{"an ldflags version alone takes the commit and its time from the checkout", "v1.2.3", "", "", vcs("false"),
			"rootctl v1.2.3 (commit 1a2b3c4, 2026-11-25T09:58:12Z)"},
		{"an ldflags build date alone is labelled built", "", "", "2026-11-25T10:00:00Z", nil,
			"rootctl dev (built 2026-11-25T10:00:00Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := resolveVersion(tt.ldVersion, tt.ldCommit, tt.date, tt.info).String(); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestVersionOfABuiltBinary builds rootctl as a release and as a developer
// would and runs --version on each.
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rootctl twice")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	t.Parallel()
	build := func(t *testing.T, args ...string) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "rootctl")
		cmd := exec.Command(gobin, append(append([]string{"build", "-o", bin}, args...), "github.com/rootctl/rootctl")...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("rootctl --version: %v\n%s", err, out)
		}
		return string(out)
	}

	t.Run("a release build reports what ldflags set", func(t *testing.T) {
		t.Parallel()
		const pkg = "github.com/rootctl/rootctl/commands."
		got := build(t, "-trimpath", "-buildvcs=false", "-ldflags",
			"-s -w -X "+pkg+"version=v1.2.3 -X "+pkg+"commit=1a2b3c4 -X "+pkg+"date=2026-11-25T10:00:00Z")
		if want := "rootctl v1.2.3 (commit 1a2b3c4, built 2026-11-25T10:00:00Z)\n"; got != want {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
	t.Run("a build from a git checkout reports the checkout's commit", func(t *testing.T) {
		t.Parallel()
		head, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Skip("not a git checkout (or no git): nothing for Go to record")
		}
		top, err := exec.Command("git", "-C", "..", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			t.Fatalf("git rev-parse --show-toplevel: %v", err)
		}
		if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
			t.Skip("a git worktree (.git is a file): Go records VCS information only when .git is a directory")
		}
		got := build(t, "-buildvcs=true")
		re := regexp.MustCompile(`^rootctl \S+ \(commit ([0-9a-f]{7})(-dirty)?, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$`)
		m := re.FindStringSubmatch(got)
		if m == nil || m[1] != string(head[:7]) {
			t.Fatalf("got %q, want the line %s with commit %s", got, re, head[:7])
		}
	})
}
