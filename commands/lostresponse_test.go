package commands

import (
	"context"
	"slices"
	"testing"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootcreds"
)

// TestALostResponseIsReportedAsThisRunsChange loses the response of a
// change after AWS made it: the SDK retries, and AWS answers that there is
// nothing to do. The change is this run's all the same, and the report and
// the log say so; a credential someone else deleted before the call is
// still already_gone.
func TestALostResponseIsReportedAsThisRunsChange(t *testing.T) {
	t.Parallel()
	const lost = "an earlier attempt's response was lost"
	tests := []struct {
		name    string
		args    []string
		opts    func(h **harness) fixtures.Options
		op      string
		codes   []string // of op's calls, in order
		item    string
		outcome string
		retried string
		logged  string
	}{
		{"delete: the key deleted, its answer lost, then the retry finds no key", []string{"delete", "--accounts", "444444444405"},
			func(**harness) fixtures.Options {
				return fixtures.Options{DropAfterApply: map[string]int{"iam:DeleteAccessKey": 1}}
			},
			"DeleteAccessKey", []string{"", "NoSuchEntity"}, "access_key AKIA3DEMO0DEVEVERY01", rootcreds.Deleted, lost, auditlog.Success},
		{"recovery: the login profile created, its answer lost, then the retry finds one", []string{"recovery", "--accounts", "222222222201"},
			func(**harness) fixtures.Options {
				return fixtures.Options{DropAfterApply: map[string]int{"iam:CreateLoginProfile": 1}}
			},
			"CreateLoginProfile", []string{"", "EntityAlreadyExists"}, "password", rootcreds.Created, lost, auditlog.Success},
		{"delete: a key someone else deleted just before the call is already gone", []string{"delete", "--accounts", "444444444405"},
			func(h **harness) fixtures.Options {
				return fixtures.Options{Hold: func(_ context.Context, c fixtures.Call) {
					if c.Operation == "DeleteAccessKey" {
						(*h).srv.Update(func(org *fixtures.Org) {
							for i := range org.Accounts {
								if org.Accounts[i].ID == "444444444405" {
									org.Accounts[i].Root.AccessKeys = nil
								}
							}
						})
					}
				}}
			},
			"DeleteAccessKey", []string{"NoSuchEntity"}, "access_key AKIA3DEMO0DEVEVERY01", rootcreds.Gone, "", auditlog.Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			h = newHarness(t, demoOrg(t), tt.opts(&h))
			code, out, stderr := h.run(append(tt.args, "--reason", "SEC-42", "--yes", "-o", "json")...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var codes []string
			for _, c := range h.srv.Calls() {
				if c.Operation == tt.op {
					codes = append(codes, c.Code)
				}
			}
			if !slices.Equal(codes, tt.codes) {
				t.Fatalf("%s answered %q, want %q", tt.op, codes, tt.codes)
			}
			r := parseJSON[JobReport](t, out)
			var got *rootcreds.Action
			for i, a := range r.Accounts[0].Actions {
				if a.Item.String() == tt.item {
					got = &r.Accounts[0].Actions[i]
				}
			}
			if got == nil || got.Outcome != tt.outcome || got.Retried != tt.retried || got.Error != "" || r.Accounts[0].Status != orgrun.StatusDone {
				t.Fatalf("report: account %s, action %+v; want %s %s, retried %q", r.Accounts[0].Status, got, tt.item, tt.outcome, tt.retried)
			}
			wantChanges := len(r.Accounts[0].Actions)
			if tt.outcome == rootcreds.Gone {
				wantChanges--
			}
			if r.Summary.Changes != wantChanges {
				t.Fatalf("summary counts %d changes, want %d", r.Summary.Changes, wantChanges)
			}
			var logged []string
			for _, e := range auditEntries(t, h) {
				if e.Action == "iam:"+tt.op {
					logged = append(logged, e.Outcome+" "+e.Retried+" "+e.Error)
				}
			}
			if want := []string{"started  ", tt.logged + " " + tt.retried + " "}; !slices.Equal(logged, want) {
				t.Fatalf("audit log %q, want %q", logged, want)
			}
		})
	}
}
