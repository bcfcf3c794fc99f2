package commands

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

func TestReorderArgs(t *testing.T) {
	t.Parallel()
	app := NewApp(&Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	tests := []struct {
		name string
		in   string
		want string // "" when the words stay as they are
	}{
		{"an ID before flags: the flags move before it", "delete --sim --reason x --dry-run 444444444405 --yes",
			"delete --sim --reason x --dry-run --yes -- 444444444405"},
		{"a flag's value is never taken for an argument", "audit --exclude 333333333301 444444444405 -o csv",
			"audit --exclude 333333333301 -o csv -- 444444444405"},
		{"a value that starts with a dash stays with its flag", "delete --reason -not-a-flag 333333333301",
			"delete --reason -not-a-flag -- 333333333301"},
		{"--name=value takes no further word", "audit 333333333301 --output=csv 444444444405",
			"audit --output=csv -- 333333333301 444444444405"},
		{"--sim alone takes no value: the next word is an argument", "status --sim fresh", "status --sim -- fresh"},
		{"--sim=FILE is one word", "status --sim=fresh", ""},
		{"a subcommand's own flags", "unlock s3 444444444402 --account 444444444402 --bucket b",
			"unlock s3 --account 444444444402 --bucket b -- 444444444402"},
		{"an unknown flag takes no value (urfave refuses it)", "audit --bogus 333333333301", "audit --bogus -- 333333333301"},
		{"arguments after an existing -- join the others, untouched", "audit 333333333301 -- -o 444444444405",
			"audit -- 333333333301 -o 444444444405"},
		{"exec: what follows -- is the command's, untouched", "exec --account 444444444402 -- aws s3 ls --recursive -- x", ""},
		{"an unknown command is left to the app", "audits 333333333301 --sim", ""},
		{"a command with subcommands and an unknown one", "unlock s4 --sim", ""},
		{"the app's own flags", "--help", ""},
		{"a shell-completion request", "audit 333333333301 --generate-bash-completion", ""},
		{"a flag missing its value at the end", "audit --ou", ""},
		{"- alone is an argument (stdin), here a flag's value", "hook account-created --event -", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string{"rootctl"}, strings.Fields(tt.in)...)
			want := in
			if tt.want != "" {
				want = append([]string{"rootctl"}, strings.Fields(tt.want)...)
			}
			got, err := reorderArgs(app, in)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("reorderArgs(%q) = %q, %v\nwant %q", in, got, err, want)
			}
		})
	}
}

// TestEveryCommandRefusesAStrayArgument walks the whole command tree: a
// word that no command takes is exit 2, naming it, before any AWS call or
// any output, so a new command cannot forget to refuse one.
func TestEveryCommandRefusesAStrayArgument(t *testing.T) {
	t.Parallel()
	app := NewApp(&Deps{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	// What the commands that take arguments get before the stray one.
	valid := map[string][]string{"completion": {"bash"}, "help": {"audit"}}
	var walk func(path []string, cmds []*cli.Command)
	n := 0
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			walk(p, c.Subcommands)
			args := slices.Concat(p, valid[strings.Join(p, " ")], []string{"stray-word"})
			if c.Name == "exec" {
				args = append(args, "--", "true")
			}
			n++
			t.Run(strings.Join(p, " "), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, demoOrg(t), fixtures.Options{})
				// A command that ignored the word would run; sim serve until
				// the context ends.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				code, out, stderr := h.runCtx(ctx, args...)
				if code != ExitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `"stray-word"`) {
					t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line naming the word", args, code, out, stderr)
				}
				if calls := h.srv.Calls(); len(calls) != 0 {
					t.Errorf("%q: %d AWS calls were made, the first %s", args, len(calls), calls[0].Operation)
				}
			})
		}
	}
	walk(nil, app.Commands)
	if n < 18 {
		t.Fatalf("walked %d commands; the tree has more", n)
	}
}

// TestFlagsAfterAnAccountIDAreRead: urfave/cli alone would stop reading
// flags at the ID, drop it and them, and act on every account.
func TestFlagsAfterAnAccountIDAreRead(t *testing.T) {
	t.Parallel()
	t.Run("a dry run plans the one account named", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		code, out, stderr := h.run("delete", "--reason", "x", "--dry-run", "444444444405", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r := parseJSON[JobReport](t, out)
		if len(r.Accounts) != 1 || r.Accounts[0].ID != "444444444405" || r.Accounts[0].Status != orgrun.StatusPlanned || !r.DryRun {
			t.Fatalf("report %+v", r)
		}
		if w := writeCalls(h.srv.Calls()); len(w) != 0 {
			t.Fatalf("a dry run wrote %q", w)
		}
	})
	t.Run("--yes after the ID changes that account only", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		code, out, stderr := h.run("delete", "444444444405", "--reason", "x", "--yes", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if r := parseJSON[JobReport](t, out); len(r.Accounts) != 1 || r.Summary.Done != 1 || r.Summary.Changes != 4 {
			t.Fatalf("report %+v", r)
		}
		if !rootOf(t, h, "444444444405").Empty() || rootOf(t, h, "333333333301").Password == nil {
			t.Fatal("the named account was not cleaned, or another one was")
		}
		for _, c := range h.srv.Calls() {
			if c.Task != "" && c.Account != "444444444405" {
				t.Errorf("%s as root in %s", c.Operation, c.Account)
			}
		}
	})
	t.Run("-o csv after the ID", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		code, out, stderr := h.run("audit", "333333333301", "-o", "csv")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != ExitFindings || len(lines) != 2 || lines[0] != strings.Join(auditCSVHeader, ",") || !strings.HasPrefix(lines[1], "333333333301,prod-payments,") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
		}
	})
	t.Run("recovery and locks take IDs too", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, demoOrg(t), fixtures.Options{})
		if code, _, stderr := h.run("recovery", "222222222201", "--reason", "x", "--yes"); code != 0 || rootOf(t, h, "222222222201").Password == nil {
			t.Fatalf("recovery: exit %d: %s", code, stderr)
		}
		code, out, stderr := h.run("locks", "444444444402", "444444444403", "--reason", "x", "-o", "json")
		if r := parseJSON[LocksReport](t, out); code != ExitFindings || len(r.Accounts) != 2 || r.Locked != 2 {
			t.Fatalf("locks: exit %d, %+v: %s", code, r, stderr)
		}
	})
}

func TestChangesOnEveryAccountNeedAllAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("delete", "--all-accounts", "--exclude", "555555555502", "--reason", "x", "--dry-run", "-o", "json")
	// The Legacy OU's deny-root SCP refuses the root sessions of its two
	// accounts: the pre-flight check reports them blocked, and the run is
	// partial.
	if code != ExitPartial {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	if r.Summary.Accounts != 17 || r.Summary.Planned != 6 || r.Summary.Skipped != 3 || r.Summary.Blocked != 2 || r.Summary.Errors != 0 {
		t.Fatalf("summary %+v, want the 17 accounts not excluded, 6 planned, 2 blocked", r.Summary)
	}
}

// TestTypedConfirmationAsksForTheCount: on a terminal, the question names
// what will happen and only its count, typed, confirms it.
func TestTypedConfirmationAsksForTheCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		question string
		answer   string
		changed  func(h *harness) bool
		code     int // the exit code once confirmed
	}{
		// The Legacy OU's two accounts cannot be planned (its deny-root SCP
		// refuses their root sessions): the run is partial.
		{"delete in several accounts", []string{"delete", "--all-accounts", "--accept", "recently-used-key"},
			"Type 7 to delete 14 credentials in 7 accounts: ", "7",
			func(h *harness) bool { return rootOf(h.t, h, "444444444405").Empty() }, ExitPartial},
		{"recovery", []string{"recovery", "222222222201", "222222222202", "333333333301"},
			"Type 2 to enable password recovery in 2 accounts: ", "2",
			func(h *harness) bool { return rootOf(h.t, h, "222222222201").Password != nil }, ExitOK},
		{"unlock, one resource", []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts"},
			"Type 1 to delete the policy of bucket dev-tools-artifacts (us-east-1) in account 444444444402: ", "1",
			func(h *harness) bool { return bucketPolicy(h.t, h, "444444444402", "dev-tools-artifacts") == "" }, ExitOK},
	}
	for _, tt := range tests {
		for _, answer := range []string{tt.answer, tt.args[0], "yes", "14", ""} {
			t.Run(tt.name+", answered "+answer, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, demoOrg(t), fixtures.Options{})
				h.tty, h.stdin = true, answer+"\n"
				code, _, stderr := h.run(append(tt.args, "--reason", "x")...)
				if !strings.Contains(stderr, tt.question) {
					t.Fatalf("no question %q on stderr:\n%s", tt.question, stderr)
				}
				if answer == tt.answer {
					if code != tt.code || !tt.changed(h) {
						t.Fatalf("the right count: exit %d, changed %v: %s", code, tt.changed(h), stderr)
					}
					return
				}
				if code != ExitFailure || tt.changed(h) || len(writeCalls(h.srv.Calls())) != 0 || !strings.Contains(stderr, "not confirmed; nothing was changed") {
					t.Fatalf("a wrong answer: exit %d, writes %q: %s", code, writeCalls(h.srv.Calls()), stderr)
				}
			})
		}
	}
}
