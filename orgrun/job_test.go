package orgrun

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootcreds"
)

// keysAndCerts deletes the access keys and signing certificates of three
// accounts, risks accepted: five changes, recorded after six entries of
// planning (each account's AssumeRoot, started and ended).
var (
	keysAndCerts    = DeleteJob(rootcreds.Kinds{AccessKeys: true, Certificates: true}, rootcreds.Risks)
	threeAccounts   = orgscan.Selection{Accounts: []string{"333333333304", "444444444401", "444444444405"}}
	logFailedPrefix = "failed error=the items marked not_done were not changed, as the audit log could not be written: writing the audit log audit.log: no space left on device"
	// notSent is the item whose record ahead was refused; the items after
	// it, and the accounts after it, are not_done without a word.
	notSent = " (not sent, as its record could not be written: writing the audit log audit.log: no space left on device)"
)

// Once the audit log cannot be written, no further change starts: not in
// the account being changed, nor in any other, even when the disk has
// room again. Exactly the changes recorded ahead before the failure are
// sent.
func TestRunJobStartsNoChangeOnceTheAuditLogFails(t *testing.T) {
	t.Parallel()
	const failure = "failure: the audit log could not be written, so no further change was started: writing the audit log audit.log: no space left on device"
	tests := []struct {
		name        string
		failAt      int  // the log write that fails (0: none)
		down        bool // and every one after it
		wantChanges []string
		wantAssumed int
		wantRun     []string
		wantLog     []string
	}{
		{"the log works: five changes", 0, false, []string{
			"333333333304 DeleteAccessKey", "333333333304 DeleteAccessKey", "444444444401 DeleteSigningCertificate",
			"444444444405 DeleteAccessKey", "444444444405 DeleteSigningCertificate"}, 3,
			[]string{
				"333333333304 done | access_key AKIA3DEMO0PRODAPI001 deleted, access_key AKIA3DEMO0PRODAPI002 deleted",
				"444444444401 done | signing_certificate DEMOCERT4444444444010000 deleted",
				"444444444405 done | access_key AKIA3DEMO0DEVEVERY01 deleted, signing_certificate DEMOCERT4444444444050000 deleted",
			}, []string{
				"333333333304 iam:DeleteAccessKey started", "333333333304 iam:DeleteAccessKey success",
				"333333333304 iam:DeleteAccessKey started", "333333333304 iam:DeleteAccessKey success",
				"444444444401 iam:DeleteSigningCertificate started", "444444444401 iam:DeleteSigningCertificate success",
				"444444444405 iam:DeleteAccessKey started", "444444444405 iam:DeleteAccessKey success",
				"444444444405 iam:DeleteSigningCertificate started", "444444444405 iam:DeleteSigningCertificate success",
			}},
		{"the second account's session cannot be recorded: nothing is changed", 3, false, nil, 1,
			[]string{
				"333333333304 " + logFailedPrefix + " | access_key AKIA3DEMO0PRODAPI001 not_done, access_key AKIA3DEMO0PRODAPI002 not_done",
				"444444444401 error error=AssumeRoot IAMDeleteRootUserCredentials not called, as its record could not be written: writing the audit log audit.log: no space left on device",
				"444444444405 error error=AssumeRoot IAMDeleteRootUserCredentials not called, as its record could not be written: writing the audit log audit.log: no space left on device",
			}, []string{"333333333304 AssumeRoot started", "333333333304 AssumeRoot success"}},
		{"the first change cannot be recorded ahead: nothing is changed", 7, false, nil, 3,
			[]string{
				"333333333304 " + logFailedPrefix + " | access_key AKIA3DEMO0PRODAPI001 not_done" + notSent + ", access_key AKIA3DEMO0PRODAPI002 not_done",
				"444444444401 " + logFailedPrefix + " | signing_certificate DEMOCERT4444444444010000 not_done",
				"444444444405 " + logFailedPrefix + " | access_key AKIA3DEMO0DEVEVERY01 not_done, signing_certificate DEMOCERT4444444444050000 not_done",
			}, []string{}},
		{"the first change's outcome cannot be recorded: one change", 8, false, []string{"333333333304 DeleteAccessKey"}, 3,
			[]string{
				"333333333304 " + logFailedPrefix + " | access_key AKIA3DEMO0PRODAPI001 deleted, access_key AKIA3DEMO0PRODAPI002 not_done" + notSent,
				"444444444401 " + logFailedPrefix + " | signing_certificate DEMOCERT4444444444010000 not_done",
				"444444444405 " + logFailedPrefix + " | access_key AKIA3DEMO0DEVEVERY01 not_done, signing_certificate DEMOCERT4444444444050000 not_done",
			}, []string{"333333333304 iam:DeleteAccessKey started"}},
		{"the disk stays full from the second account's change on: two changes", 11, true,
			[]string{"333333333304 DeleteAccessKey", "333333333304 DeleteAccessKey"}, 3,
			[]string{
				"333333333304 done | access_key AKIA3DEMO0PRODAPI001 deleted, access_key AKIA3DEMO0PRODAPI002 deleted",
				"444444444401 " + logFailedPrefix + " | signing_certificate DEMOCERT4444444444010000 not_done" + notSent,
				"444444444405 " + logFailedPrefix + " | access_key AKIA3DEMO0DEVEVERY01 not_done, signing_certificate DEMOCERT4444444444050000 not_done",
			}, []string{"333333333304 iam:DeleteAccessKey started", "333333333304 iam:DeleteAccessKey success",
				"333333333304 iam:DeleteAccessKey started", "333333333304 iam:DeleteAccessKey success"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := newRun(t, fixtures.Options{}, threeAccounts, &logFile{failAt: tt.failAt, down: tt.down})
			op := &operator{}
			err := RunJob(context.Background(), run.Run, keysAndCerts, false, op)
			want := failure
			if tt.failAt == 0 {
				want = ""
			}
			if got := outcome(err); got != want {
				t.Fatalf("RunJob: %s\nwant %s", got, want)
			}
			if got := run.changes(); !slices.Equal(got, tt.wantChanges) {
				t.Fatalf("changes sent %q\nwant %q", got, tt.wantChanges)
			}
			if n := run.assumed(); n != tt.wantAssumed {
				t.Fatalf("%d AssumeRoot calls, want %d", n, tt.wantAssumed)
			}
			if got := briefs(op.last(t)); !slices.Equal(got, tt.wantRun) {
				t.Fatalf("accounts\n%q\nwant\n%q", got, tt.wantRun)
			}
			// What the log holds of the apply phase, past the planning.
			entries := run.file.entries(t)
			var applied []string
			for _, e := range entries {
				if tt.failAt == 3 || !slices.Contains([]string{"AssumeRoot started", "AssumeRoot success"}, e[len("333333333304 "):]) {
					applied = append(applied, e)
				}
			}
			if !slices.Equal(applied, tt.wantLog) {
				t.Fatalf("audit log %q\nwant %q", applied, tt.wantLog)
			}
		})
	}
}

// Journal refuses to record a change ahead once a write has failed,
// without writing: the change is not sent.
func TestJournalRefusesOnceAWriteFailed(t *testing.T) {
	t.Parallel()
	file := &logFile{failAt: 2}
	run := newRun(t, fixtures.Options{}, orgscan.Selection{}, file)
	j := run.Journal
	e := changeEntry(keysAndCerts, &AccountJob{Result: Result{Account: orgscan.Account{ID: "333333333304"}}, lease: run.Assumer.Lease("333333333304", keysAndCerts.Task)},
		rootcreds.Item{Kind: rootcreds.KindAccessKey, ID: "AKIA3DEMO0PRODAPI001"})
	steps := []struct {
		name    string
		record  func() error
		wantErr bool
	}{
		{"the first entry is written", func() error { return j.RecordStarted(e) }, false},
		{"the second fails", func() error { return j.Record(e) }, true},
		{"the third is refused without a write, though the disk has room", func() error { return j.RecordStarted(e) }, true},
	}
	for _, st := range steps {
		if err := st.record(); (err != nil) != st.wantErr || (err != nil && !errors.Is(err, errDiskFull)) {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	if file.writes != 2 || !errors.Is(j.Failed(), errDiskFull) || j.LogFailed().Class != Failure {
		t.Fatalf("%d writes, failed %v: want 2 writes and the failure kept", file.writes, j.Failed())
	}
}

// relisting makes the re-listing after a deletion find what it deleted:
// the emulator's Hold hook puts the key back when the key list is asked
// for after a DeleteAccessKey.
func relisting(srv **fixtures.Server, account string, key fixtures.AccessKey) func(context.Context, fixtures.Call) {
	var deleted atomic.Bool
	return func(_ context.Context, c fixtures.Call) {
		switch {
		case c.Operation == "DeleteAccessKey":
			deleted.Store(true)
		case c.Operation == "ListAccessKeys" && deleted.Load():
			(*srv).Update(func(o *fixtures.Org) {
				for i := range o.Accounts {
					if o.Accounts[i].ID == account && !slices.ContainsFunc(o.Accounts[i].Root.AccessKeys, func(k fixtures.AccessKey) bool { return k.ID == key.ID }) {
						o.Accounts[i].Root.AccessKeys = append(o.Accounts[i].Root.AccessKeys, key)
					}
				}
			})
		}
	}
}

// A deletion is verified by listing again: an item the re-listing still
// finds fails the account, unless it is a step the user held back.
func TestDeleteJobFailsAnAccountWhoseRelistingFindsAnItem(t *testing.T) {
	t.Parallel()
	back := fixtures.AccessKey{ID: "AKIA3DEMO0PRODAPI001", Status: "Active"}
	tests := []struct {
		name        string
		account     string
		job         Job
		putBack     bool // the re-listing finds the key deleted
		wantOutcome string
		wantRun     []string
		wantListed  int // ListAccessKeys calls
	}{
		{"the re-listing finds nothing: done", "333333333304", keysAndCerts, false, "",
			[]string{"333333333304 done | access_key AKIA3DEMO0PRODAPI001 deleted, access_key AKIA3DEMO0PRODAPI002 deleted"}, 2},
		{"the re-listing finds a deleted key: failed", "333333333304", keysAndCerts, true,
			"partial: 1 of 1 accounts failed; see their errors in the report",
			[]string{"333333333304 failed error=the re-listing still finds 1 of the items | access_key AKIA3DEMO0PRODAPI001 deleted, access_key AKIA3DEMO0PRODAPI002 deleted | remaining access_key AKIA3DEMO0PRODAPI001"}, 2},
		{"a held step that remains is no failure", "444444444405", DeleteJob(rootcreds.Kinds{AccessKeys: true, MFA: true}, nil), false,
			"findings: 1 risky steps were held back, so those credentials remain",
			[]string{"444444444405 done | access_key AKIA3DEMO0DEVEVERY01 deleted, mfa_device arn:aws:iam::444444444405:mfa/root-account-mfa-device held"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var srv *fixtures.Server
			opts := fixtures.Options{}
			if tt.putBack {
				opts.Hold = relisting(&srv, tt.account, back)
			}
			run := newRun(t, opts, orgscan.Selection{Accounts: []string{tt.account}}, nil)
			srv = run.srv
			op := &operator{}
			err := RunJob(context.Background(), run.Run, tt.job, false, op)
			if got := outcome(err); got != tt.wantOutcome {
				t.Fatalf("RunJob: %s\nwant %s", got, tt.wantOutcome)
			}
			if got := briefs(op.last(t)); !slices.Equal(got, tt.wantRun) {
				t.Fatalf("accounts\n%q\nwant\n%q", got, tt.wantRun)
			}
			listed := 0
			for _, c := range srv.Calls() {
				if c.Operation == "ListAccessKeys" {
					listed++
				}
			}
			if listed != tt.wantListed {
				t.Fatalf("%d ListAccessKeys calls, want %d (the plan's and the re-listing's)", listed, tt.wantListed)
			}
		})
	}
}
