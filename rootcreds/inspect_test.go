package rootcreds

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/rootsession"
)

// emulator starts the demo organization with opts and returns it and an
// Assumer with the management account's credentials. The SDK's retries
// wait for nothing, so a test that makes AWS's clock leap stays fast.
func emulator(t *testing.T, opts fixtures.Options) (*fixtures.Server, *rootsession.Assumer) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	cfg := simtest.Config(srv, srv.ManagementCredentials())
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
	}
	return srv, rootsession.NewAssumer(cfg)
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// operations lists the emulator's calls as "Operation Code" (task policy
// names left out), skipping the refusals of a request signed too far from
// a clock that leapt, which the SDK corrects and sends again.
func operations(srv *fixtures.Server) []string {
	var ops []string
	for _, c := range srv.Calls() {
		if c.Code != "SignatureDoesNotMatch" {
			ops = append(ops, c.Operation+" "+c.Code)
		}
	}
	return ops
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// Audit reads every kind of root credential, asking only for the lists
// GetAccountSummary does not rule out; the delete task, which may not call
// GetAccountSummary, reads every list.
func TestAuditReadsTheRootUsersCredentials(t *testing.T) {
	t.Parallel()
	none := Findings{AccessKeys: []AccessKey{}, MFADevices: []MFADevice{}, SigningCertificates: []SigningCertificate{}}
	tests := []struct {
		name      string
		account   string
		task      rootsession.Task
		want      Findings
		wantCalls []string
	}{
		{"no credential: one call", "222222222201", rootsession.Audit, none, []string{"AssumeRoot ", "GetAccountSummary "}},
		{"every kind", "444444444405", rootsession.Audit, Findings{
			Password:            &Password{Created: at("2020-05-01T08:00:00Z"), LastUsed: ptr(at("2020-06-15T17:20:00Z"))},
			AccessKeys:          []AccessKey{{ID: "AKIA3DEMO0DEVEVERY01", Status: "Active", Created: at("2020-05-01T09:00:00Z")}},
			MFADevices:          []MFADevice{{Serial: "arn:aws:iam::444444444405:mfa/root-account-mfa-device", Kind: MFAVirtual, Enabled: at("2020-05-01T09:10:00Z")}},
			SigningCertificates: []SigningCertificate{{ID: "DEMOCERT4444444444050000", Status: "Inactive", Uploaded: at("2020-05-02T09:00:00Z")}},
		}, []string{"AssumeRoot ", "GetAccountSummary ", "GetAccessKeyLastUsed ", "GetLoginProfile ", "GetUser ", "ListAccessKeys ", "ListMFADevices ", "ListSigningCertificates "}},
		{"two keys with their last use", "333333333304", rootsession.Audit, Findings{
			AccessKeys: []AccessKey{
				{ID: "AKIA3DEMO0PRODAPI001", Status: "Active", Created: at("2023-05-02T10:00:00Z"), LastUsed: ptr(at("2026-11-20T07:45:00Z")), LastService: "s3", LastRegion: "eu-west-1"},
				{ID: "AKIA3DEMO0PRODAPI002", Status: "Inactive", Created: at("2022-04-01T08:30:00Z"), LastUsed: ptr(at("2023-01-15T16:00:00Z")), LastService: "ec2", LastRegion: "us-east-1"},
			},
			MFADevices: []MFADevice{}, SigningCertificates: []SigningCertificate{},
		}, []string{"AssumeRoot ", "GetAccountSummary ", "GetAccessKeyLastUsed ", "GetAccessKeyLastUsed ", "ListAccessKeys "}},
		{"a password with a FIDO key", "555555555502", rootsession.Audit, Findings{
			Password:   &Password{Created: at("2024-02-02T08:00:00Z")},
			AccessKeys: []AccessKey{}, SigningCertificates: []SigningCertificate{},
			MFADevices: []MFADevice{{Serial: "arn:aws:iam::555555555502:u2f/root/security-key-7F3A", Kind: MFAFIDO, Enabled: at("2024-02-02T08:15:00Z")}},
		}, []string{"AssumeRoot ", "GetAccountSummary ", "GetLoginProfile ", "GetUser ", "ListMFADevices "}},
		{"a password with a hardware token, read by the delete task", "333333333303", rootsession.Delete, Findings{
			Password:   &Password{Created: at("2022-03-01T08:00:00Z")},
			AccessKeys: []AccessKey{}, SigningCertificates: []SigningCertificate{},
			MFADevices: []MFADevice{{Serial: "GAHT12345678", Kind: MFAHardware, Enabled: at("2022-03-01T08:20:00Z")}},
		}, []string{"AssumeRoot ", "GetLoginProfile ", "ListAccessKeys ", "ListMFADevices ", "ListSigningCertificates "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := emulator(t, fixtures.Options{})
			lease := a.Lease(tt.account, tt.task)
			var f *Findings
			var calls int
			var err error
			if tt.task == rootsession.Audit {
				f, calls, err = Audit(context.Background(), lease)
			} else {
				err = lease.Do(context.Background(), func(cfg aws.Config) error {
					f, calls, err = Inspect(context.Background(), cfg, InspectOptions{})
					return err
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*f, tt.want) {
				t.Fatalf("findings\n%+v\nwant\n%+v", *f, tt.want)
			}
			if f.Empty() != (tt.want.Password == nil && len(tt.want.AccessKeys)+len(tt.want.MFADevices)+len(tt.want.SigningCertificates) == 0) {
				t.Fatalf("Empty() = %v", f.Empty())
			}
			got := operations(srv)
			sequential := 1 // AssumeRoot, then GetAccountSummary for the audit task
			if tt.task == rootsession.Audit {
				sequential = 2
			}
			slices.Sort(got[min(sequential, len(got)):]) // the lists are read concurrently
			if !slices.Equal(got, tt.wantCalls) || calls != len(tt.wantCalls)-1 {
				t.Fatalf("calls %q (counted %d), want %q", got, calls, tt.wantCalls)
			}
		})
	}
}

// A list AWS refuses fails the inspection with the call named.
func TestInspectNamesTheListThatFailed(t *testing.T) {
	t.Parallel()
	_, a := emulator(t, fixtures.Options{OpFaults: map[string]string{"iam:ListMFADevices": "ServiceFailure"}})
	f, _, err := Audit(context.Background(), a.Lease("444444444405", rootsession.Audit))
	if f != nil || err == nil || !strings.HasPrefix(err.Error(), "ListMFADevices: ") || awserr.Code(err) != "ServiceFailure" {
		t.Fatalf("Audit: %v, %v; want ListMFADevices' ServiceFailure", f, err)
	}
}
