package rootcreds

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/rootsession"
)

// everything is what PlanDelete lists for every kind in 444444444405, in
// the order it is deleted.
var everything = []Item{
	{KindAccessKey, "AKIA3DEMO0DEVEVERY01"},
	{KindSigningCertificate, "DEMOCERT4444444444050000"},
	{Kind: KindPassword},
	{KindMFADevice, "arn:aws:iam::444444444405:mfa/root-account-mfa-device"},
}

func TestPlanDeleteOrdersMFALast(t *testing.T) {
	t.Parallel()
	f := &Findings{
		Password:            &Password{},
		AccessKeys:          []AccessKey{{ID: "AKIA3DEMO0DEVEVERY01"}},
		MFADevices:          []MFADevice{{Serial: "arn:aws:iam::444444444405:mfa/root-account-mfa-device"}},
		SigningCertificates: []SigningCertificate{{ID: "DEMOCERT4444444444050000"}},
	}
	tests := []struct {
		name  string
		kinds Kinds
		want  []Item
	}{
		{"every kind: keys, certificates, the password, MFA last", AllKinds(), everything},
		{"keys and MFA only", Kinds{AccessKeys: true, MFA: true}, []Item{everything[0], everything[3]}},
		{"the password only", Kinds{Password: true}, []Item{everything[2]}},
		{"no kind", Kinds{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PlanDelete(f, tt.kinds); !slices.Equal(got, tt.want) {
				t.Fatalf("PlanDelete = %v, want %v", got, tt.want)
			}
			if got := Remaining(f, tt.kinds); !slices.Equal(got, tt.want) {
				t.Fatalf("Remaining = %v, want %v: what the plan deletes is what must be gone", got, tt.want)
			}
			if tt.kinds.Any() != (len(tt.want) > 0) {
				t.Fatalf("Any() = %v", tt.kinds.Any())
			}
		})
	}
}

// Delete deletes in order, tells its hooks of each call before it is sent
// and of each outcome, and stops an account at its first failure, its
// first call that could not be recorded, or Ctrl-C: what is left is
// not_done, so that MFA never goes while the password stays.
func TestDeleteStopsAtTheFirstItemNotDone(t *testing.T) {
	t.Parallel()
	full := errors.New("no space left on device")
	notRecorded := "not sent, as its record could not be written: no space left on device"
	deleted := func(it Item) Action { return Action{Item: it, Outcome: Deleted} }
	notDone := func(it Item) Action { return Action{Item: it, Outcome: NotDone} }
	tests := []struct {
		name string
		opts fixtures.Options
		// setup runs before Delete: it may change the emulator, and
		// returns the hook that refuses an item's record, if any.
		setup func(srv *fixtures.Server) func(Item) error
		// cancelAfter cancels the run once this item's outcome is known.
		cancelAfter *Item
		want        []Action
		wantCalls   []string
		wantEvents  []string
	}{
		{"every item deleted, in order", fixtures.Options{}, nil, nil,
			[]Action{deleted(everything[0]), deleted(everything[1]), deleted(everything[2]), deleted(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey ", "DeleteSigningCertificate ", "DeleteLoginProfile ", "DeactivateMFADevice "},
			[]string{"before access_key", "after access_key deleted", "before signing_certificate", "after signing_certificate deleted",
				"before password", "after password deleted", "before mfa_device", "after mfa_device deleted"}},
		{"a key someone else deleted is already gone, and the run goes on", fixtures.Options{}, func(srv *fixtures.Server) func(Item) error {
			srv.Update(func(o *fixtures.Org) { account(o, "444444444405").Root.AccessKeys = nil })
			return nil
		}, nil,
			[]Action{{Item: everything[0], Outcome: Gone}, deleted(everything[1]), deleted(everything[2]), deleted(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey NoSuchEntity", "DeleteSigningCertificate ", "DeleteLoginProfile ", "DeactivateMFADevice "},
			[]string{"before access_key", "after access_key already_gone", "before signing_certificate", "after signing_certificate deleted",
				"before password", "after password deleted", "before mfa_device", "after mfa_device deleted"}},
		{"a failed deletion leaves the items after it not done", fixtures.Options{OpFaults: map[string]string{"iam:DeleteLoginProfile": "AccessDenied"}}, nil, nil,
			[]Action{deleted(everything[0]), deleted(everything[1]),
				{Item: everything[2], Outcome: Failed, ErrorCode: "AccessDenied", Error: "AccessDenied: iam DeleteLoginProfile failed (injected by the simulator)"},
				notDone(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey ", "DeleteSigningCertificate ", "DeleteLoginProfile AccessDenied"},
			[]string{"before access_key", "after access_key deleted", "before signing_certificate", "after signing_certificate deleted",
				"before password", "after password failed", "after mfa_device not_done"}},
		{"a call whose record fails is not sent, nor any after it, though the log works again", fixtures.Options{}, func(*fixtures.Server) func(Item) error {
			return func(it Item) error {
				if it.Kind == KindSigningCertificate {
					return full
				}
				return nil
			}
		}, nil,
			[]Action{deleted(everything[0]), {Item: everything[1], Outcome: NotDone, Error: notRecorded}, notDone(everything[2]), notDone(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey "},
			[]string{"before access_key", "after access_key deleted", "before signing_certificate", "after signing_certificate not_done",
				"after password not_done", "after mfa_device not_done"}},
		{"Ctrl-C after the first item starts no further one", fixtures.Options{}, nil, &everything[0],
			[]Action{deleted(everything[0]), notDone(everything[1]), notDone(everything[2]), notDone(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey "},
			[]string{"before access_key", "after access_key deleted", "after signing_certificate not_done", "after password not_done", "after mfa_device not_done"}},
		{"a deletion whose answer was lost is this run's", fixtures.Options{DropAfterApply: map[string]int{"iam:DeleteSigningCertificate": 1}}, nil, nil,
			[]Action{deleted(everything[0]), {Item: everything[1], Outcome: Deleted, Retried: "an earlier attempt's response was lost"}, deleted(everything[2]), deleted(everything[3])},
			[]string{"AssumeRoot ", "DeleteAccessKey ", "DeleteSigningCertificate ", "DeleteSigningCertificate NoSuchEntity", "DeleteLoginProfile ", "DeactivateMFADevice "},
			[]string{"before access_key", "after access_key deleted", "before signing_certificate", "after signing_certificate deleted",
				"before password", "after password deleted", "before mfa_device", "after mfa_device deleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := emulator(t, tt.opts)
			var refuse func(Item) error
			if tt.setup != nil {
				refuse = tt.setup(srv)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var events []string
			hooks := Hooks{
				Before: func(it Item) error {
					events = append(events, "before "+it.Kind)
					if refuse != nil {
						return refuse(it)
					}
					return nil
				},
				After: func(act Action) {
					events = append(events, "after "+act.Kind+" "+act.Outcome)
					if tt.cancelAfter != nil && act.Item == *tt.cancelAfter {
						cancel()
					}
				},
			}
			got := Delete(ctx, a.Lease("444444444405", rootsession.Delete), everything, hooks)
			for i := range got {
				if (got[i].Outcome == Deleted || got[i].Outcome == Gone || got[i].Outcome == Failed) != (got[i].RequestID != "") {
					t.Errorf("%s: request ID %q", got[i].Item, got[i].RequestID)
				}
				got[i].RequestID = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("actions\n%+v\nwant\n%+v", got, tt.want)
			}
			if calls := operations(srv); !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("calls %q, want %q", calls, tt.wantCalls)
			}
			if !slices.Equal(events, tt.wantEvents) {
				t.Fatalf("hooks told %q, want %q", events, tt.wantEvents)
			}
		})
	}
}

// A deletion AWS refuses as expired (AWS's clock is ahead) is recorded as
// refused, then recorded ahead and sent again with a new session.
func TestDeleteSendsAnExpiredCallAgainWithANewSession(t *testing.T) {
	t.Parallel()
	var srv *fixtures.Server
	var once sync.Once
	srv, a := emulator(t, fixtures.Options{OnCall: func(c fixtures.Call) {
		if c.Operation == "DeleteAccessKey" {
			once.Do(func() { srv.Advance(16 * time.Minute) }) // AWS's clock leaps; ours does not
		}
	}})
	lease := a.Lease("444444444405", rootsession.Delete)
	var events []string
	hooks := Hooks{
		Before:  func(it Item) error { events = append(events, "before "+it.Kind+" "+lease.KeyID()); return nil },
		After:   func(act Action) { events = append(events, "after "+act.Kind+" "+act.Outcome) },
		Expired: func(it Item, err error) { events = append(events, "expired "+it.Kind+" "+lease.KeyID()) },
	}
	got := Delete(context.Background(), lease, everything[:2], hooks)
	if got[0].Outcome != Deleted || got[1].Outcome != Deleted || lease.Assumed() != 2 {
		t.Fatalf("actions %+v with %d sessions", got, lease.Assumed())
	}
	if calls := operations(srv); !slices.Equal(calls, []string{"AssumeRoot ", "DeleteAccessKey ", "DeleteSigningCertificate ExpiredToken", "AssumeRoot ", "DeleteSigningCertificate "}) {
		t.Fatalf("calls %q", calls)
	}
	first := events[0][len("before access_key "):]
	second := lease.KeyID()
	want := []string{"before access_key " + first, "after access_key deleted", "before signing_certificate " + first,
		"expired signing_certificate " + first, "before signing_certificate " + second, "after signing_certificate deleted"}
	if first == second || !slices.Equal(events, want) {
		t.Fatalf("hooks told %q, want %q", events, want)
	}
}

// EnableRecovery creates a login profile without a password where there is
// none, and reports one that exists as already there.
func TestEnableRecovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		account   string
		opts      fixtures.Options
		refuse    bool // the record ahead fails
		want      Action
		wantCalls []string
		wantAfter bool // HasPassword afterwards
	}{
		{"no password: a login profile is created", "222222222201", fixtures.Options{}, false,
			Action{Item: Item{Kind: KindPassword}, Outcome: Created}, []string{"AssumeRoot ", "CreateLoginProfile "}, true},
		{"a password already there", "333333333301", fixtures.Options{}, false,
			Action{Item: Item{Kind: KindPassword}, Outcome: Existing}, []string{"AssumeRoot ", "CreateLoginProfile EntityAlreadyExists"}, true},
		{"a creation whose answer was lost is this run's", "222222222201", fixtures.Options{DropAfterApply: map[string]int{"iam:CreateLoginProfile": 1}}, false,
			Action{Item: Item{Kind: KindPassword}, Outcome: Created, Retried: "an earlier attempt's response was lost"},
			[]string{"AssumeRoot ", "CreateLoginProfile ", "CreateLoginProfile EntityAlreadyExists"}, true},
		{"a creation that cannot be recorded is not sent", "222222222201", fixtures.Options{}, true,
			Action{Item: Item{Kind: KindPassword}, Outcome: NotDone, Error: "not sent, as its record could not be written: no space left on device"},
			[]string{"AssumeRoot "}, false},
		{"a refused creation fails", "222222222201", fixtures.Options{OpFaults: map[string]string{"iam:CreateLoginProfile": "AccessDenied"}}, false,
			Action{Item: Item{Kind: KindPassword}, Outcome: Failed, ErrorCode: "AccessDenied", Error: "AccessDenied: iam CreateLoginProfile failed (injected by the simulator)"},
			[]string{"AssumeRoot ", "CreateLoginProfile AccessDenied"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := emulator(t, tt.opts)
			lease := a.Lease(tt.account, rootsession.CreatePassword)
			var after []Action
			hooks := Hooks{After: func(act Action) { after = append(after, act) }}
			if tt.refuse {
				hooks.Before = func(Item) error { return errors.New("no space left on device") }
			}
			got := EnableRecovery(context.Background(), lease, hooks)
			if (got.Outcome == NotDone) == (got.RequestID != "") {
				t.Errorf("request ID %q", got.RequestID)
			}
			got.RequestID = ""
			if !reflect.DeepEqual(got, tt.want) || len(after) != 1 || after[0].Outcome != got.Outcome {
				t.Fatalf("action %+v (hooks told %+v), want %+v", got, after, tt.want)
			}
			if calls := operations(srv); !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("calls %q, want %q", calls, tt.wantCalls)
			}
			has, err := HasPassword(context.Background(), lease)
			if err != nil || has != tt.wantAfter {
				t.Fatalf("HasPassword = %v, %v; want %v", has, err, tt.wantAfter)
			}
		})
	}
}

// account is the fixture account id of o.
func account(o *fixtures.Org, id string) *fixtures.Account {
	for i := range o.Accounts {
		if o.Accounts[i].ID == id {
			return &o.Accounts[i]
		}
	}
	panic("no account " + id)
}
