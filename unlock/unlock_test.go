package unlock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/internal/simtest"
	"github.com/rootctl/rootctl/rootsession"
)

// emulator starts the demo organization with opts and returns it and an
// Assumer with the management account's credentials.
func emulator(t *testing.T, opts fixtures.Options) (*fixtures.Server, *rootsession.Assumer) {
	t.Helper()
	srv := simtest.Demo(t, opts)
	c := srv.ManagementCredentials()
	return srv, rootsession.NewAssumer(simtest.Config(srv, c))
}

// operations lists the emulator's calls as "Operation Code".
func operations(srv *fixtures.Server) []string {
	var ops []string
	for _, c := range srv.Calls() {
		ops = append(ops, c.Operation+" "+c.Code)
	}
	return ops
}

// changes lists the calls that change a policy.
func changes(srv *fixtures.Server) []string {
	var ops []string
	for _, c := range srv.Calls() {
		switch c.Operation {
		case "PutBucketPolicy", "DeleteBucketPolicy", "SetQueueAttributes":
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

// setPolicy sets the fixture policy of a bucket or queue of o.
func setPolicy(o *fixtures.Org, service, name, policy string) {
	for i := range o.Accounts {
		a := &o.Accounts[i]
		for j := range a.Buckets {
			if service == S3 && a.Buckets[j].Name == name {
				a.Buckets[j].Policy = fixtures.Policy(policy)
				return
			}
		}
		for j := range a.Queues {
			if service == SQS && a.Queues[j].Name == name {
				a.Queues[j].Policy = fixtures.Policy(policy)
				return
			}
		}
	}
	panic("no " + service + " resource " + name)
}

// files lists the files in dir; none when dir does not exist.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

const (
	artifactsLock = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyEveryone","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::dev-tools-artifacts","arn:aws:s3:::dev-tools-artifacts/*"]}]}`
	ordersLock    = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyAll","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:444444444403:dev-events-orders"}]}`
	// someoneElses is a policy someone else wrote meanwhile.
	someoneElses = `{"Version":"2012-10-17","Statement":[{"Sid":"SomeoneElses","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444402:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::dev-tools-artifacts/*"}]}`
	// readOnly is the policy a test puts in place of the lockout.
	readOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444402:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::dev-tools-artifacts/*"}]}`
)

// resources are the locked bucket and queue of the demo organization.
var resources = map[string]struct{ account, name, lock, desc string }{
	S3:  {"444444444402", "dev-tools-artifacts", artifactsLock, "bucket dev-tools-artifacts (us-east-1)"},
	SQS: {"444444444403", "dev-events-orders", ordersLock, "queue dev-events-orders (us-east-1)"},
}

// Apply stops when the policy is no longer the one shown: nothing is
// backed up, recorded or sent.
func TestApplyRefusesAPolicyChangedSinceItWasShown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		service string
		now     *string // the policy someone else left, nil: deleted
		next    *string
	}{
		{"a bucket policy replaced, to be deleted", S3, aws.String(someoneElses), nil},
		{"a bucket policy replaced, to be replaced", S3, aws.String(someoneElses), aws.String(readOnly)},
		{"a bucket policy deleted", S3, nil, nil},
		{"a queue policy replaced", SQS, aws.String(someoneElses), nil},
		{"a queue policy deleted", SQS, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resources[tt.service]
			srv, a := emulator(t, fixtures.Options{})
			lease := a.Lease(r.account, Task(tt.service))
			st, err := Inspect(context.Background(), lease, tt.service, r.account, r.name)
			if err != nil || st.Policy == nil || !st.Analysis.Lockout() {
				t.Fatalf("Inspect: %+v, %v", st, err)
			}
			srv.Update(func(o *fixtures.Org) { setPolicy(o, tt.service, r.name, aws.ToString(tt.now)) })
			dir := filepath.Join(t.TempDir(), "backups")
			recorded := 0
			res, err := Apply(context.Background(), lease, st, tt.next, dir, "INC-7", time.Now(), Hooks{
				Before: func(string) error { recorded++; return nil },
				After:  func(Result, error) { recorded++ },
			})
			want := r.desc + ": the policy changed since it was shown; nothing was changed (run the command again to see the new one)"
			if !errors.Is(err, ErrChanged) || err.Error() != want {
				t.Fatalf("Apply: %v\nwant %s", err, want)
			}
			if res != (Result{}) || recorded != 0 {
				t.Fatalf("result %+v, hooks called %d times: want nothing", res, recorded)
			}
			if c := changes(srv); len(c) != 0 {
				t.Fatalf("sent %q", c)
			}
			if f := files(t, dir); len(f) != 0 {
				t.Fatalf("backups written: %q", f)
			}
		})
	}
}

// Apply reads the policy back after its change: one that differs from the
// one sent is an error, and the result is not Verified.
func TestApplyVerifiesThePolicyReadBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		service  string
		next     *string
		readBack *string // what someone else leaves right after the change
	}{
		{"a bucket policy deleted, another one read back", S3, nil, aws.String(someoneElses)},
		{"a bucket policy replaced, another one read back", S3, aws.String(readOnly), aws.String(someoneElses)},
		{"a bucket policy replaced, none read back", S3, aws.String(readOnly), nil},
		{"a queue policy deleted, another one read back", SQS, nil, aws.String(someoneElses)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resources[tt.service]
			var srv *fixtures.Server
			var changed atomic.Bool
			srv, a := emulator(t, fixtures.Options{Hold: func(_ context.Context, c fixtures.Call) {
				switch c.Operation {
				case "PutBucketPolicy", "DeleteBucketPolicy", "SetQueueAttributes":
					changed.Store(true)
				case "GetBucketPolicy", "GetQueueAttributes":
					if changed.Load() { // the read-back: someone else got there first
						srv.Update(func(o *fixtures.Org) { setPolicy(o, tt.service, r.name, aws.ToString(tt.readBack)) })
					}
				}
			}})
			lease := a.Lease(r.account, Task(tt.service))
			st, err := Inspect(context.Background(), lease, tt.service, r.account, r.name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			res, err := Apply(context.Background(), lease, st, tt.next, dir, "INC-7", time.Now(), Hooks{})
			if err == nil || err.Error() != "the change was made but the policy read back differs from the one sent" {
				t.Fatalf("Apply: %v, want the read-back to differ", err)
			}
			if res.Verified || !reflect.DeepEqual(res.After, tt.readBack) || res.RequestID == "" {
				t.Fatalf("result %+v (after %v), want not verified with the policy read back", res, aws.ToString(res.After))
			}
			b, err := ReadBackup(res.Backup)
			if err != nil || aws.ToString(b.Policy) != r.lock {
				t.Fatalf("backup %+v, %v; want the policy shown", b, err)
			}
			want := []string{"PutBucketPolicy"}
			switch {
			case tt.service == SQS:
				want = []string{"SetQueueAttributes"}
			case tt.next == nil:
				want = []string{"DeleteBucketPolicy"}
			}
			if c := changes(srv); !slices.Equal(c, want) {
				t.Fatalf("sent %q, want %q", c, want)
			}
		})
	}
}

// recorder is an audit log in memory.
type recorder struct {
	mu      sync.Mutex
	entries []auditlog.Entry
	fail    error // every write fails with it
}

func (r *recorder) RecordStarted(e auditlog.Entry) error {
	e.Outcome = auditlog.Started
	return r.Record(e)
}

func (r *recorder) Record(e auditlog.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.entries = append(r.entries, e)
	return nil
}

// Apply backs the policy up, records the change ahead, makes it, records
// its outcome and reads it back, in that order and with exactly these
// calls.
func TestApplyBacksUpRecordsChangesAndVerifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		service   string
		next      *string
		wantCalls []string
		action    string
	}{
		{"a bucket's lockout deleted", S3, nil,
			[]string{"AssumeRoot ", "ListBuckets ", "GetBucketPolicy ", "GetBucketPolicy ", "DeleteBucketPolicy ", "GetBucketPolicy NoSuchBucketPolicy"}, "s3:DeleteBucketPolicy"},
		{"a bucket's lockout replaced", S3, aws.String(readOnly),
			[]string{"AssumeRoot ", "ListBuckets ", "GetBucketPolicy ", "GetBucketPolicy ", "PutBucketPolicy ", "GetBucketPolicy "}, "s3:PutBucketPolicy"},
		// The lockout refuses GetQueueUrl, which the root user's exemption
		// may not cover: the queue is addressed by its documented URL.
		{"a queue's lockout deleted", SQS, nil,
			[]string{"AssumeRoot ", "GetQueueUrl AccessDenied", "GetQueueAttributes ", "GetQueueAttributes ", "SetQueueAttributes ", "GetQueueAttributes "}, "sqs:SetQueueAttributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resources[tt.service]
			srv, a := emulator(t, fixtures.Options{})
			lease := a.Lease(r.account, Task(tt.service))
			st, err := Inspect(context.Background(), lease, tt.service, r.account, r.name)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			dir := t.TempDir()
			taken := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
			res, err := Apply(context.Background(), lease, st, tt.next, dir, "INC-7", taken, Recorded(rec, lease, st, tt.next))
			if err != nil || !res.Verified || !reflect.DeepEqual(res.After, tt.next) || res.RequestID == "" {
				t.Fatalf("Apply: %+v, %v", res, err)
			}
			if got := operations(srv); !slices.Equal(got, tt.wantCalls) {
				t.Fatalf("calls %q, want %q", got, tt.wantCalls)
			}
			b, err := ReadBackup(res.Backup)
			if err != nil || aws.ToString(b.Policy) != r.lock || b.Resource != st.Resource || !b.TakenAt.Equal(taken) || b.Reason != "INC-7" {
				t.Fatalf("backup %+v, %v", b, err)
			}
			entry := auditlog.Entry{Account: r.account, Task: Task(tt.service).Name, Action: tt.action, Target: st.Resource.ARN(),
				Backup: res.Backup, SessionKeyID: lease.KeyID()}
			started, done := entry, entry
			started.Outcome = auditlog.Started
			done.Outcome, done.RequestID = auditlog.Success, res.RequestID
			if want := []auditlog.Entry{started, done}; !reflect.DeepEqual(rec.entries, want) {
				t.Fatalf("recorded\n%+v\nwant\n%+v", rec.entries, want)
			}
		})
	}
}

// What stops Apply before its change leaves the policy as it was.
func TestApplyChangesNothingWhenItCannotGoOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       fixtures.Options
		cancel     bool   // Ctrl-C before Apply
		logFails   bool   // the record ahead cannot be written
		badDir     bool   // the backup directory cannot be created
		wantErr    string // a prefix
		wantBackup bool
		wantChange []string
	}{
		{"Ctrl-C before the change", fixtures.Options{}, true, false, false, "interrupted; nothing was changed: context canceled", false, nil},
		{"the audit log cannot record the change", fixtures.Options{}, false, true, false,
			"not sent, as its record could not be written: no space left on device; nothing was changed", true, nil},
		{"the backup cannot be written", fixtures.Options{}, false, false, true, "creating the backup directory: ", false, nil},
		{"AWS refuses the change", fixtures.Options{OpFaults: map[string]string{"s3:DeleteBucketPolicy": "AccessDenied"}}, false, false, false,
			"DeleteBucketPolicy: operation error S3: DeleteBucketPolicy", true, []string{"DeleteBucketPolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := resources[S3]
			srv, a := emulator(t, tt.opts)
			lease := a.Lease(r.account, rootsession.S3Unlock)
			st, err := Inspect(context.Background(), lease, S3, r.account, r.name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			dir := filepath.Join(t.TempDir(), "backups")
			if tt.badDir {
				if err := os.WriteFile(dir, nil, 0o600); err != nil { // a file where the directory should be
					t.Fatal(err)
				}
				dir = filepath.Join(dir, "sub")
			}
			rec := &recorder{}
			if tt.logFails {
				rec.fail = errors.New("no space left on device")
			}
			res, err := Apply(ctx, lease, st, nil, dir, "INC-7", time.Now(), Recorded(rec, lease, st, nil))
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || res.Verified {
				t.Fatalf("Apply: %+v, %v; want %q…", res, err, tt.wantErr)
			}
			if (res.Backup != "") != tt.wantBackup {
				t.Fatalf("backup %q, want one: %v", res.Backup, tt.wantBackup)
			}
			if c := changes(srv); !slices.Equal(c, tt.wantChange) {
				t.Fatalf("sent %q, want %q", c, tt.wantChange)
			}
			if acct, _ := srv.Account(r.account); string(acct.Buckets[0].Policy) != r.lock {
				t.Fatalf("policy now %s", acct.Buckets[0].Policy)
			}
		})
	}
}

// Inspect finds the bucket or queue and analyses its policy; what is not
// in the account is ErrNotFound.
func TestInspectLocatesAndAnalyses(t *testing.T) {
	t.Parallel()
	srv0, _ := emulator(t, fixtures.Options{})
	tests := []struct {
		name      string
		service   string
		account   string
		resource  string
		want      Resource
		wantLocks []string
		wantErr   string
	}{
		{"a locked bucket", S3, "444444444402", "dev-tools-artifacts", Resource{Service: S3, Account: "444444444402", Name: "dev-tools-artifacts", Region: "us-east-1"},
			[]string{`statement 0 (Sid "DenyEveryone") denies every action to everyone`}, ""},
		{"a bucket locked to a retired VPC endpoint, in its region", S3, "444444444402", "dev-tools-vpc-only",
			Resource{Service: S3, Account: "444444444402", Name: "dev-tools-vpc-only", Region: "eu-west-1"},
			[]string{`statement 0 (Sid "OnlyFromRetiredVpce") denies every action to everyone except requests where aws:SourceVpce is vpce-0deleted00000000`}, ""},
		{"a bucket whose deny is TLS-only", S3, "444444444402", "dev-tools-logs", Resource{Service: S3, Account: "444444444402", Name: "dev-tools-logs", Region: "us-east-1"}, nil, ""},
		{"a locked queue by name", SQS, "444444444403", "dev-events-orders",
			Resource{Service: SQS, Account: "444444444403", Name: "dev-events-orders", Region: "us-east-1", URL: srv0.URL() + "/444444444403/dev-events-orders"},
			[]string{`statement 0 (Sid "DenyAll") denies every action to everyone`}, ""},
		{"a bucket of another account", S3, "444444444401", "dev-tools-artifacts", Resource{}, nil, `bucket "dev-tools-artifacts" is not in account 444444444401: not found`},
		{"a queue that is not there", SQS, "444444444403", "no-such-queue", Resource{}, nil, `queue "no-such-queue" is not in account 444444444403 in us-east-1 (pass --region, or the queue URL): not found`},
		{"a queue URL of another account", SQS, "444444444403", "https://sqs.us-east-1.amazonaws.com/444444444402/dev-events-orders", Resource{}, nil,
			"queue URL https://sqs.us-east-1.amazonaws.com/444444444402/dev-events-orders is in account 444444444402, not 444444444403: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := emulator(t, fixtures.Options{})
			st, err := Inspect(context.Background(), a.Lease(tt.account, Task(tt.service)), tt.service, tt.account, tt.resource)
			if tt.wantErr != "" {
				if st != nil || err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrNotFound) {
					t.Fatalf("Inspect: %+v, %v; want %q", st, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.URL != "" {
				tt.want.URL = strings.Replace(tt.want.URL, srv0.URL(), srv.URL(), 1)
			}
			var locks []string
			for _, l := range st.Analysis.Locks {
				locks = append(locks, l.String())
			}
			if st.Resource != tt.want || !slices.Equal(locks, tt.wantLocks) || st.Policy == nil {
				t.Fatalf("Inspect: %+v, locks %q; want %+v, %q", st.Resource, locks, tt.want, tt.wantLocks)
			}
		})
	}
}

// FindLocks reads every bucket of an account and lists those locked, with
// their locking statements; it changes nothing.
func TestFindLocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		account     string
		wantBuckets int
		want        []LockedResource
	}{
		{"two locked buckets of three", "444444444402", 3, []LockedResource{
			{Resource{Service: S3, Account: "444444444402", Name: "dev-tools-artifacts", Region: "us-east-1"}, []Lock{{Index: 0, Sid: "DenyEveryone"}}},
			{Resource{Service: S3, Account: "444444444402", Name: "dev-tools-vpc-only", Region: "eu-west-1"}, []Lock{{Index: 0, Sid: "OnlyFromRetiredVpce", Except: "aws:SourceVpce is vpce-0deleted00000000"}}},
		}},
		{"no bucket", "444444444401", 0, []LockedResource{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := emulator(t, fixtures.Options{})
			scan, err := FindLocks(context.Background(), a.Lease(tt.account, rootsession.S3Unlock), tt.account)
			if err != nil || scan.Buckets != tt.wantBuckets || !reflect.DeepEqual(scan.Locked, tt.want) {
				t.Fatalf("FindLocks: %+v, %v\nwant %d buckets, %+v", scan, err, tt.wantBuckets, tt.want)
			}
			if c := changes(srv); len(c) != 0 {
				t.Fatalf("sent %q", c)
			}
		})
	}
}

func TestSetPolicyAction(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		service string
		next    *string
		want    string
	}{{S3, nil, "s3:DeleteBucketPolicy"}, {S3, aws.String(readOnly), "s3:PutBucketPolicy"}, {SQS, nil, "sqs:SetQueueAttributes"}} {
		if got := SetPolicyAction(tt.service, tt.next); got != tt.want {
			t.Errorf("SetPolicyAction(%s, %v) = %s, want %s", tt.service, tt.next != nil, got, tt.want)
		}
	}
}

// FindQueueLocks reads every queue of an account in the regions asked and
// lists those locked; it changes nothing.
func TestFindQueueLocks(t *testing.T) {
	t.Parallel()
	srv, a := emulator(t, fixtures.Options{})
	scan, err := FindQueueLocks(context.Background(), a.Lease("444444444403", rootsession.SQSUnlock), "444444444403", []string{"us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range scan.Locked {
		names = append(names, l.Service+":"+l.Name+"@"+l.Region)
	}
	if want := []string{"sqs:dev-events-orders@us-east-1"}; scan.Queues < 2 || !reflect.DeepEqual(names, want) {
		t.Fatalf("%d queues read, locked %q; want at least 2 read and %q", scan.Queues, names, want)
	}
	if c := changes(srv); len(c) != 0 {
		t.Fatalf("sent %q", c)
	}
}
