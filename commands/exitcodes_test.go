package commands

import (
	"os"
	"strings"
	"testing"
)

// README.md's table of exit codes is the one the code defines
// (exitCodes): written once, never typed twice.
func TestREADMEExitCodesAreTheGeneratedTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Exit codes\n")
	if !ok {
		t.Fatal("README.md has no section \"## Exit codes\"")
	}
	start := strings.Index(section, "| code | meaning |")
	if start < 0 {
		t.Fatal("the section \"## Exit codes\" of README.md has no table")
	}
	table, _, _ := strings.Cut(section[start:], "\n\n")
	if want := exitCodesMarkdown(); table+"\n" != want {
		t.Fatalf("README.md's exit codes:\n%s\nwant (from exitCodes):\n%s", table, want)
	}
}

// `rootctl --help` lists every exit code of the table, 5 and 6 included.
func TestHelpListsEveryExitCode(t *testing.T) {
	t.Parallel()
	code, out, _ := runReal("--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"   0    success", "   5    hook account-created", "   6    hook account-created", "   130  interrupted", "   other for exec"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

// A command's exit codes name its own meanings, then the shared ones.
func TestExitCodesFor(t *testing.T) {
	t.Parallel()
	got := exitCodesFor(map[int]string{ExitOK: "done", ExitPartial: "some accounts failed"})
	want := "Exit codes: 0 done; 4 some accounts failed; 1 other failure; 2 usage error; 130\ninterrupted."
	if got != want {
		t.Fatalf("exitCodesFor = %q, want %q", got, want)
	}
}
