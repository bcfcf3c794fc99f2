package evidence

import (
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/rootcreds"
)

func TestChecksJudgeEachRootUser(t *testing.T) {
	t.Parallel()
	day := time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC)
	password := &rootcreds.Password{Created: day}
	tests := []struct {
		name string
		f    *rootcreds.Findings
		want string // root-credentials, root-access-keys, root-mfa, root-hardware-mfa
	}{
		{"no credentials pass every check, MFA ones included", &rootcreds.Findings{}, "PASS PASS PASS PASS"},
		{"a password alone fails MFA and hardware MFA", &rootcreds.Findings{Password: password}, "FAIL PASS FAIL FAIL"},
		{"a password with a virtual MFA device fails hardware MFA", &rootcreds.Findings{Password: password,
			MFADevices: []rootcreds.MFADevice{{Serial: "arn:aws:iam::1:mfa/root", Kind: rootcreds.MFAVirtual}}}, "FAIL PASS PASS FAIL"},
		{"a password with hardware MFA passes both MFA checks", &rootcreds.Findings{Password: password,
			MFADevices: []rootcreds.MFADevice{{Serial: "GAHT1", Kind: rootcreds.MFAHardware}}}, "FAIL PASS PASS PASS"},
		{"a FIDO key is hardware MFA", &rootcreds.Findings{Password: password,
			MFADevices: []rootcreds.MFADevice{{Serial: "arn:aws:iam::1:u2f/root/k", Kind: rootcreds.MFAFIDO}}}, "FAIL PASS PASS PASS"},
		{"hardware and virtual MFA together fail hardware MFA", &rootcreds.Findings{Password: password,
			MFADevices: []rootcreds.MFADevice{{Serial: "GAHT1", Kind: rootcreds.MFAHardware}, {Serial: "arn:aws:iam::1:mfa/root", Kind: rootcreds.MFAVirtual}}}, "FAIL PASS PASS FAIL"},
		{"an inactive access key fails the access key check", &rootcreds.Findings{AccessKeys: []rootcreds.AccessKey{{ID: "AKIA1", Status: "Inactive"}}}, "FAIL FAIL FAIL FAIL"},
		{"a signing certificate alone fails MFA", &rootcreds.Findings{SigningCertificates: []rootcreds.SigningCertificate{{ID: "C1"}}}, "FAIL PASS FAIL FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := Evaluate(Open(Credentials(tt.f)))
			var got []string
			for i, r := range rs {
				if r.Check != Checks[i] {
					t.Errorf("result %d is of %s", i, r.Check.ID)
				}
				got = append(got, r.Status)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tt.want)
			}
			if tt.f.Empty() {
				for _, r := range rs {
					if r.Detail != NoCredentials {
						t.Errorf("%s passes with %q, not the explanation of why absent credentials pass", r.Check.ID, r.Detail)
					}
				}
			}
		})
	}
}

func TestAFailureIsAcceptedOnlyWhenEveryCredentialBehindItIs(t *testing.T) {
	t.Parallel()
	until := mustDate("2027-04-30")
	sooner := mustDate("2027-01-31")
	fs := []Finding{
		{Credential: Credential{KindPassword, "t"}, Status: StatusAccepted, Exception: &Acceptance{Entry: 1, Expires: until}},
		{Credential: Credential{KindMFAHardware, "GAHT1"}, Status: StatusAccepted, Exception: &Acceptance{Entry: 2, Expires: sooner}},
		{Credential: Credential{KindAccessKey, "AKIA1"}, Status: StatusOpen},
		{Credential: Credential{KindSigningCertificate, "C1"}, Status: StatusResolved, Drift: DriftResolved},
	}
	rs := Evaluate(fs)
	// root-credentials: the open access key keeps it open.
	if rs[0].Status != CheckFail || rs[0].Accepted != nil {
		t.Errorf("root-credentials: %s accepted %v", rs[0].Status, rs[0].Accepted)
	}
	if want := "The root user holds 3 credentials: a password, hardware MFA device GAHT1, access key AKIA1."; !strings.HasPrefix(rs[0].Detail, want) {
		t.Errorf("root-credentials detail %q\nwant it to start %q (the resolved certificate is gone)", rs[0].Detail, want)
	}
	fs[2].Status, fs[2].Exception = StatusAccepted, &Acceptance{Entry: 3, Expires: until}
	rs = Evaluate(fs)
	if rs[0].Accepted == nil || rs[0].Accepted.Entry != 2 {
		t.Errorf("root-credentials with everything accepted: %+v, want the acceptance that lapses first (entry 2)", rs[0].Accepted)
	}
	if rs[1].Accepted == nil || rs[1].Accepted.Entry != 3 {
		t.Errorf("root-access-keys: %+v, want entry 3", rs[1].Accepted)
	}
}

func TestDriftMarksNewPersistingAndResolved(t *testing.T) {
	t.Parallel()
	key1, key2 := Credential{KindAccessKey, "AKIA1"}, Credential{KindAccessKey, "AKIA2"}
	pw := Credential{KindPassword, "2022-03-01T00:00:00Z"}
	pwAgain := Credential{KindPassword, "2026-11-01T00:00:00Z"}
	got := Compare(Open([]Credential{pwAgain, key1, key2}), []Credential{pw, key1})
	var s []string
	for _, f := range got {
		s = append(s, f.String()+"="+f.Status+"/"+f.Drift)
	}
	want := "password 2026-11-01T00:00:00Z=open/new access_key AKIA1=open/persisting access_key AKIA2=open/new password 2022-03-01T00:00:00Z=resolved/resolved"
	if strings.Join(s, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(s, " "), want)
	}
	if c := Count(got); c != (Counts{Open: 3, Resolved: 1, New: 2, Persisting: 1}) {
		t.Errorf("counts %+v", c)
	}
	if got := Compare(Open([]Credential{key1}), nil); got[0].Drift != DriftNew {
		t.Errorf("an account the baseline did not audit: %s, want new", got[0].Drift)
	}
}
