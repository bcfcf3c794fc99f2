package rootcreds

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanStepsFlagsRisks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { u := now.Add(-d); return &u }
	day := 24 * time.Hour
	keys := []AccessKey{
		{ID: "AKIAEXAMPLERECENT001", Status: "Active", LastUsed: at(2 * day), LastService: "s3", LastRegion: "eu-west-1"},
		{ID: "AKIAEXAMPLEOLDKEY002", Status: "Active", LastUsed: at(31 * day), LastService: "ec2", LastRegion: "us-east-1"},
		{ID: "AKIAEXAMPLENEVER0003", Status: "Inactive"},
		{ID: "AKIAEXAMPLEBOUNDARY4", Status: "Active", LastUsed: at(RecentUse - time.Minute), LastService: "iam", LastRegion: "us-east-1"},
	}
	mfa := []MFADevice{{Serial: "arn:aws:iam::333333333301:mfa/root", Kind: MFAVirtual}}
	password := &Password{Created: now.Add(-400 * day)}
	for _, tc := range []struct {
		name  string
		f     Findings
		kinds Kinds
		want  []Step
	}{
		{"a key used 2 days ago is risky; one used 31 days ago or never is not", Findings{AccessKeys: keys}, Kinds{AccessKeys: true}, []Step{
			{Item{KindAccessKey, "AKIAEXAMPLERECENT001"}, RiskRecentKey, "used 2 days ago: s3/eu-west-1"},
			{Item: Item{KindAccessKey, "AKIAEXAMPLEOLDKEY002"}},
			{Item: Item{KindAccessKey, "AKIAEXAMPLENEVER0003"}},
			{Item{KindAccessKey, "AKIAEXAMPLEBOUNDARY4"}, RiskRecentKey, "used 29 days ago: iam/us-east-1"},
		}},
		{"MFA alone while a password stays is risky", Findings{Password: password, MFADevices: mfa}, Kinds{MFA: true}, []Step{
			{Item{KindMFADevice, mfa[0].Serial}, RiskMFAWithPassword, "the root password stays and would sign in without MFA"},
		}},
		{"MFA with the password is not risky", Findings{Password: password, MFADevices: mfa}, Kinds{MFA: true, Password: true}, []Step{
			{Item: Item{Kind: KindPassword}}, {Item: Item{KindMFADevice, mfa[0].Serial}},
		}},
		{"MFA of an account without a password is not risky", Findings{MFADevices: mfa}, Kinds{MFA: true}, []Step{
			{Item: Item{KindMFADevice, mfa[0].Serial}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanSteps(&tc.f, tc.kinds, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseRisk(t *testing.T) {
	t.Parallel()
	if r, err := ParseRisk("recently-used-key"); r != RiskRecentKey || err != nil {
		t.Errorf("recently-used-key: %q, %v", r, err)
	}
	if _, err := ParseRisk("everything"); err == nil || err.Error() != `unknown risk "everything": want recently-used-key or mfa-with-password` {
		t.Errorf("everything: %v", err)
	}
}
