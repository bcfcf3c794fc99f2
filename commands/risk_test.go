package commands

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootcreds"
)

// TestDeleteHoldsRiskySteps: the plan flags removing MFA while the
// password stays and deleting a key used in the last 30 days; without
// --accept naming the risk those steps are not taken, the report says so
// with why, the re-listing does not count them as failures, and the exit
// code says credentials remain. With --accept they are taken.
func TestDeleteHoldsRiskySteps(t *testing.T) {
	t.Parallel()
	const recent = "AKIA3DEMO0PRODAPI001" // the other key was last used in 2023
	for _, tc := range []struct {
		name       string
		args       []string
		wantExit   int
		wantCalls  []string // change calls, in order
		wantHeld   []string // "kind id risk note" of the held steps
		wantStderr string
	}{
		{"MFA alone while the password stays is held",
			[]string{"--accounts", "333333333302", "--mfa"}, ExitFindings, nil,
			[]string{"mfa_device arn:aws:iam::333333333302:mfa/root-account-mfa-device mfa-with-password the root password stays and would sign in without MFA"},
			"1 risky steps were held back, so those credentials remain: review them in the plan, then pass --accept mfa-with-password"},
		{"MFA alone is taken when accepted",
			[]string{"--accounts", "333333333302", "--mfa", "--accept", "mfa-with-password"}, ExitOK,
			[]string{"iam:DeactivateMFADevice"}, nil, ""},
		{"a key used two days ago is held, the old one deleted",
			[]string{"--accounts", "333333333304", "--access-keys"}, ExitFindings,
			[]string{"iam:DeleteAccessKey"},
			[]string{"access_key " + recent + " recently-used-key used 2 days ago: s3/eu-west-1"},
			"pass --accept recently-used-key"},
		{"both keys go when the risk is accepted",
			[]string{"--accounts", "333333333304", "--accept", "recently-used-key"}, ExitOK,
			[]string{"iam:DeleteAccessKey", "iam:DeleteAccessKey"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			keyUsed(h, recent, 50*time.Hour)
			code, out, stderr := h.run(append([]string{"delete", "--reason", "SEC-1", "--yes", "-o", "json"}, tc.args...)...)
			if code != tc.wantExit || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tc.wantExit, stderr, tc.wantStderr)
			}
			if got := writeCalls(h.srv.Calls()); !slices.Equal(got, tc.wantCalls) {
				t.Errorf("change calls %v, want %v", got, tc.wantCalls)
			}
			r := parseJSON[JobReport](t, out)
			var held []string
			for _, a := range r.Accounts {
				if a.Status == orgrun.StatusFailed || a.Status == orgrun.StatusError {
					t.Errorf("%s: %s %s", a.ID, a.Status, a.Error)
				}
				for _, act := range a.Actions {
					if act.Outcome == rootcreds.Held {
						held = append(held, strings.Join([]string{act.Item.String(), string(act.Risk), act.Note}, " "))
					}
				}
			}
			if !slices.Equal(held, tc.wantHeld) || r.Summary.HeldSteps != len(tc.wantHeld) {
				t.Errorf("held %q (summary %d), want %q", held, r.Summary.HeldSteps, tc.wantHeld)
			}
		})
	}
}

// TestDeletePlanShowsHeldSteps: the plan a person confirms marks each held
// step, says why, and names the flag that would take it.
func TestDeletePlanShowsHeldSteps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, _ := h.run("delete", "--reason", "SEC-1", "--dry-run", "--accounts", "333333333302", "--mfa")
	want := "HELD: deactivate MFA device arn:aws:iam::333333333302:mfa/root-account-mfa-device (the root password stays and would sign in without MFA; risky: pass --accept mfa-with-password to take this step)"
	if code != ExitOK || !strings.Contains(out, want) || !strings.Contains(out, "1 risky steps held back.") {
		t.Fatalf("exit %d; plan:\n%s\nwant a line %q", code, out, want)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Errorf("a dry run made changes: %v", w)
	}
}

func TestDeleteAcceptUnknownRisk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("delete", "--reason", "r", "--accounts", "333333333302", "--accept", "everything", "--yes")
	if code != ExitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `--accept: unknown risk "everything": want recently-used-key or mfa-with-password`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	for _, c := range h.srv.Calls() {
		if c.Operation == "AssumeRoot" {
			t.Error("AssumeRoot was called")
		}
	}
}

// TestConfirmationCountsOnlyStepsTaken: the count a person types is of the
// changes that will be made, not of those held back.
func TestConfirmationCountsOnlyStepsTaken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	keyUsed(h, "AKIA3DEMO0PRODAPI001", 50*time.Hour)
	h.tty, h.stdin = true, "1\n"
	code, _, stderr := h.run("delete", "333333333304", "--access-keys", "--reason", "SEC-1")
	if code != ExitFindings || !strings.Contains(stderr, "Type 1 to delete 1 credential in 1 account: ") {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	if got := writeCalls(h.srv.Calls()); !slices.Equal(got, []string{"iam:DeleteAccessKey"}) {
		t.Errorf("change calls %v", got)
	}
}

// keyUsed makes the emulator's access key id last used ago before its
// clock, so that tests do not depend on the date they run.
func keyUsed(h *harness, id string, ago time.Duration) {
	at := h.srv.Now().Add(-ago)
	h.srv.Update(func(o *fixtures.Org) {
		for i := range o.Accounts {
			for j := range o.Accounts[i].Root.AccessKeys {
				if k := &o.Accounts[i].Root.AccessKeys[j]; k.ID == id {
					k.LastUsed.Date = at
				}
			}
		}
	})
}
