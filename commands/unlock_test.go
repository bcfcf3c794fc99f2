package commands

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/unlock"
)

func bucketPolicy(t *testing.T, h *harness, account, name string) string {
	t.Helper()
	a, _ := h.srv.Account(account)
	for _, b := range a.Buckets {
		if b.Name == name {
			return string(b.Policy)
		}
	}
	t.Fatalf("no bucket %s", name)
	return ""
}

func queuePolicy(t *testing.T, h *harness, account, name string) string {
	t.Helper()
	a, _ := h.srv.Account(account)
	for _, q := range a.Queues {
		if q.Name == name {
			return string(q.Policy)
		}
	}
	t.Fatalf("no queue %s", name)
	return ""
}

func backups(t *testing.T, h *harness) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(h.state, "backups", "*.json"))
	return files
}

func TestUnlockS3DeleteBackupAndRestore(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	before := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts")
	code, out, stderr := h.run("unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `statement 0 (Sid "DenyEveryone") denies every action to everyone`) || !strings.Contains(out, "verified: yes") {
		t.Fatalf("output:\n%s", out)
	}
	if p := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts"); p != "" {
		t.Fatalf("policy still there: %s", p)
	}
	files := backups(t, h)
	if len(files) != 1 || !strings.Contains(stderr, files[0]) {
		t.Fatalf("backups %q; stderr %s", files, stderr)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", fi.Mode().Perm())
	}
	b, err := unlock.ReadBackup(files[0])
	if err != nil || b.Policy == nil || *b.Policy != before || b.Reason != "INC-7" {
		t.Fatalf("backup %+v, %v; want the old policy", b, err)
	}
	if got := actionsOf(auditEntries(t, h)); !slices.Equal(got, []string{"444444444402 s3:DeleteBucketPolicy arn:aws:s3:::dev-tools-artifacts success"}) {
		t.Fatalf("audit log %q", got)
	}

	// --restore puts it back (backing up the empty state first).
	code, _, stderr = h.run("unlock", "s3", "--restore", files[0], "--reason", "INC-7 roll back", "--yes")
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	if p := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts"); p != before {
		t.Fatalf("restored policy %s, want %s", p, before)
	}
	if len(backups(t, h)) != 2 {
		t.Fatalf("restore made no backup of what it replaced: %q", backups(t, h))
	}
}

func TestUnlockBacksUpEvenWhenTheChangeFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{OpFaults: map[string]string{"s3:PutBucketPolicy": "AccessDenied"}})
	before := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts")
	fixed := filepath.Join(t.TempDir(), "fixed.json")
	os.WriteFile(fixed, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444402:root"},"Action":"s3:*","Resource":"arn:aws:s3:::dev-tools-artifacts"}]}`), 0o600)
	code, _, stderr := h.run("unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--policy-file", fixed, "--reason", "INC-7", "--yes")
	if code != ExitFailure || !strings.Contains(stderr, "AccessDenied") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files := backups(t, h)
	if len(files) != 1 || !strings.Contains(stderr, files[0]) {
		t.Fatalf("backups %q, stderr %s", files, stderr)
	}
	if b, err := unlock.ReadBackup(files[0]); err != nil || *b.Policy != before {
		t.Fatalf("backup %+v %v", b, err)
	}
	if p := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts"); p != before {
		t.Fatal("policy changed")
	}
	if got := actionsOf(auditEntries(t, h)); !slices.Equal(got, []string{"444444444402 s3:PutBucketPolicy arn:aws:s3:::dev-tools-artifacts failed"}) {
		t.Fatalf("audit log %q", got)
	}
}

func TestUnlockRefusesWhatIsNotALockout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	args := []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-logs", "--reason", "INC-7", "--yes"}
	code, out, stderr := h.run(args...)
	if code != ExitFailure || !strings.Contains(stderr, "--force") || !strings.Contains(out, "no statement locks everyone out") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 || len(backups(t, h)) != 0 {
		t.Fatalf("writes %q", w)
	}
	if code, _, stderr := h.run(append(args, "--force")...); code != 0 {
		t.Fatalf("--force: exit %d %s", code, stderr)
	}
	if p := bucketPolicy(t, h, "444444444402", "dev-tools-logs"); p != "" {
		t.Fatal("--force did not delete the policy")
	}
}

func TestUnlockVPCOnlyBucketInItsRegion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-vpc-only", "--reason", "INC-7", "--dry-run", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[UnlockReport](t, out)
	if r.Resource.Region != "eu-west-1" || len(r.Analysis.Locks) != 1 || r.Analysis.Locks[0].Except != "aws:SourceVpce is vpce-0deleted00000000" || !r.DryRun {
		t.Fatalf("report %+v", r)
	}
	if len(writeCalls(h.srv.Calls())) != 0 || len(backups(t, h)) != 0 {
		t.Fatal("dry run changed something")
	}
}

func TestUnlockSQS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	before := queuePolicy(t, h, "444444444403", "dev-events-orders")
	code, _, stderr := h.run("unlock", "sqs", "--account", "444444444403", "--queue", "dev-events-orders", "--reason", "INC-8", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if p := queuePolicy(t, h, "444444444403", "dev-events-orders"); p != "" {
		t.Fatalf("policy left: %s", p)
	}
	files := backups(t, h)
	b, err := unlock.ReadBackup(files[0])
	if err != nil || *b.Policy != before || b.URL == "" {
		t.Fatalf("backup %+v %v", b, err)
	}
	for _, c := range h.srv.Calls() {
		if c.Account == "444444444403" && c.Task != "SQSUnlockQueuePolicy" {
			t.Errorf("%s with task %q", c.Operation, c.Task)
		}
	}
	code, _, stderr = h.run("unlock", "sqs", "--restore", files[0], "--reason", "INC-8 roll back", "--yes")
	if code != 0 || queuePolicy(t, h, "444444444403", "dev-events-orders") != before {
		t.Fatalf("restore: exit %d %s", code, stderr)
	}
}

func TestUnlockBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte(`{"Statement": [`), 0o600)
	lockout := filepath.Join(dir, "lockout.json")
	os.WriteFile(lockout, []byte(`{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`), 0o600)
	notBackup := filepath.Join(dir, "notbackup.json")
	os.WriteFile(notBackup, []byte(`{"hello":1}`), 0o600)
	// Backups edited to aim elsewhere than they say: a queue URL in
	// another account than the backup's, and a bucket name AWS would not
	// take (its path-like characters would reach the request's URL).
	foreignQueue := filepath.Join(dir, "foreign-queue.json")
	os.WriteFile(foreignQueue, []byte(`{"service":"sqs","account":"444444444403","name":"dev-events-orders","region":"us-east-1",
		"queue_url":"https://sqs.us-east-1.amazonaws.com/999999999999/dev-events-orders","policy":null}`), 0o600)
	queueBackup := func(name, fields string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(`{"service":"sqs","account":"444444444403","name":"dev-events-orders","policy":null,`+fields+`}`), 0o600)
		return path
	}
	// The emulator, as SQS would, reads the queue from the URL as written:
	// its query would aim the restore at dev-events-audit.
	queryQueue := queueBackup("query-queue.json", `"region":"us-east-1","queue_url":"https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders?x=/444444444403/dev-events-audit"`)
	otherRegion := queueBackup("other-region.json", `"region":"us-east-1","queue_url":"https://sqs.eu-west-1.amazonaws.com/444444444403/dev-events-orders"`)
	usEast := queueBackup("us-east-1.json", `"region":"us-east-1","queue_url":"https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders"`)
	badRegion := queueBackup("bad-region.json", `"region":"bad region!","queue_url":"https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders"`)
	badBucket := filepath.Join(dir, "bad-bucket.json")
	os.WriteFile(badBucket, []byte(`{"service":"s3","account":"444444444402","name":"../dev-tools-artifacts","region":"us-east-1","policy":null}`), 0o600)
	base := []string{"--reason", "INC-7", "--yes"}
	tests := []struct {
		name  string
		args  []string
		want  string
		calls bool // AWS was asked (the input could only be judged there)
	}{
		{"no account", []string{"s3", "--bucket", "b-1"}, "--account is required", false},
		{"malformed account", []string{"s3", "--account", "12345", "--bucket", "b-1"}, "want a 12-digit", false},
		{"no bucket", []string{"s3", "--account", "444444444402"}, "--bucket is required", false},
		{"bad bucket name", []string{"s3", "--account", "444444444402", "--bucket", "Bad_Name"}, "want an S3 bucket name", false},
		{"bad queue name", []string{"sqs", "--account", "444444444403", "--queue", "no spaces"}, "want a queue name", false},
		{"queue URL of another account", []string{"sqs", "--account", "444444444403", "--queue", "https://sqs.us-east-1.amazonaws.com/999999999999/q"}, "not --account", false},
		{"unreadable policy file", []string{"s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--policy-file", filepath.Join(dir, "missing.json")}, "--policy-file", false},
		{"invalid policy JSON", []string{"s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--policy-file", notJSON}, "invalid policy", false},
		{"a replacement that locks out too", []string{"s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--policy-file", lockout}, "would lock everyone out", false},
		{"conflicting flags", []string{"s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--delete", "--policy-file", lockout}, "conflict", false},
		{"not a backup", []string{"s3", "--restore", notBackup}, "not a rootctl policy backup", false},
		{"a backup whose queue URL is in another account", []string{"sqs", "--restore", foreignQueue}, "which its queue_url https://sqs.us-east-1.amazonaws.com/999999999999/dev-events-orders does not name", false},
		{"a backup whose queue URL carries a query", []string{"sqs", "--restore", queryQueue}, "which its queue_url", false},
		{"a backup whose queue URL is in another Region", []string{"sqs", "--restore", otherRegion}, "which its queue_url", false},
		{"a backup of no AWS Region", []string{"sqs", "--restore", badRegion}, `names region "bad region!", which is not an AWS region`, false},
		{"a backup of another Region than --region", []string{"sqs", "--restore", usEast, "--region", "eu-west-1"}, "not --region eu-west-1", false},
		{"a queue URL with a query", []string{"sqs", "--account", "444444444403", "--queue", "https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders?x=/444444444403/dev-events-audit"}, "want https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME", false},
		{"a backup of a bucket name AWS would not take", []string{"s3", "--restore", badBucket}, `names a target rootctl would refuse: --bucket "../dev-tools-artifacts": want an S3 bucket name`, false},
		{"bucket that does not exist", []string{"s3", "--account", "444444444402", "--bucket", "no-such-bucket"}, `bucket "no-such-bucket" is not in account 444444444402`, true},
		{"queue that does not exist", []string{"sqs", "--account", "444444444403", "--queue", "nope"}, `queue "nope" is not in account 444444444403`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			code, _, stderr := h.run(append(append([]string{"unlock"}, tt.args...), base...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
			if got := len(h.srv.Calls()) > 0; got != tt.calls {
				t.Fatalf("calls made: %v, want %v", h.srv.Calls(), tt.calls)
			}
			if len(writeCalls(h.srv.Calls())) != 0 || len(backups(t, h)) != 0 {
				t.Fatal("something was changed")
			}
		})
	}
}

func TestLocks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("locks", "--reason", "INC-7 find it", "-o", "json")
	// The Legacy OU's deny-root SCP refuses its two accounts' root
	// sessions: they are blocked, and the run is partial. The RCP of
	// Restricted-Data refuses bucket policy writes only, which locks does
	// not make: 888888888801 is checked.
	if code != ExitPartial {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[LocksReport](t, out)
	var got, blocked []string
	for _, a := range r.Accounts {
		for _, b := range a.Locked {
			got = append(got, a.ID+" "+b.Name+" "+b.Region+" "+b.Locks[0].Sid)
		}
		if a.Status == orgrun.StatusBlocked {
			blocked = append(blocked, a.ID+" "+a.Guardrail[0].PolicyID)
		}
	}
	want := []string{"444444444402 dev-tools-artifacts us-east-1 DenyEveryone", "444444444402 dev-tools-vpc-only eu-west-1 OnlyFromRetiredVpce",
		"888888888801 data-vault-exports us-east-1 DenyEveryone"}
	wantBlocked := []string{"666666666601 p-d3m0lgcy", "666666666602 p-d3m0lgcy"}
	if !slices.Equal(got, want) || r.Locked != 3 || r.Errors != 0 || r.Blocked != 2 || !slices.Equal(blocked, wantBlocked) {
		t.Fatalf("locked %q, want %q (errors %d, blocked %q)", got, want, r.Errors, blocked)
	}
	if len(writeCalls(h.srv.Calls())) != 0 {
		t.Fatal("locks changed something")
	}
}

func TestUnlockSQSByURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, _, stderr := h.run("unlock", "sqs", "--account", "444444444403", "--queue", "https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders", "--reason", "INC-8", "--yes")
	if code != 0 || queuePolicy(t, h, "444444444403", "dev-events-orders") != "" {
		t.Fatalf("by URL: exit %d: %s", code, stderr)
	}
	code, _, stderr = h.run("unlock", "sqs", "--account", "444444444403", "--queue", "https://sqs.us-east-1.amazonaws.com/444444444403/no-such-queue", "--reason", "INC-8", "--yes")
	if code != ExitUsage || !strings.Contains(stderr, "not found") || len(backups(t, h)) != 1 {
		t.Fatalf("missing queue by URL: exit %d: %s", code, stderr)
	}
}

// The locks table lists every locked bucket, one row per locking
// statement, and every account that could not be checked: exactly these
// rows, under their header, and the count.
func TestLocksTable(t *testing.T) {
	t.Parallel()
	const denied = "error: AssumeRoot S3UnlockBucketPolicy: AccessDenied: User: arn:aws:iam::111111111111:user/rootctl-operator is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::444444444402:root (injected by the simulator) (the caller must be the management account or the IAM delegated administrator and allowed sts:AssumeRoot, no SCP may deny it, and the target must be an ACTIVE member account; check: rootctl status)"
	header := []string{"Account", "Name", "OU", "Resource", "Kind", "Region", "Locking statement"}
	const dev = "Root/Development"
	unlockHelp := "To unlock each (add --dry-run to see the change first):"
	artifacts := "  rootctl unlock s3 --account 444444444402 --bucket dev-tools-artifacts --reason 'INC-7 find it'"
	vpcOnly := "  rootctl unlock s3 --account 444444444402 --bucket dev-tools-vpc-only --reason 'INC-7 find it'"
	orders := "  rootctl unlock sqs --account 444444444403 --queue dev-events-orders --region us-east-1 --reason 'INC-7 find it'"
	tests := []struct {
		name     string
		opts     fixtures.Options
		edit     func(o *fixtures.Org) // the organization, before the run
		args     []string
		wantCode int
		want     [][]string
		after    []string // the lines after the table
	}{
		{"the demo organization: two locked buckets and a locked queue", fixtures.Options{}, nil, nil, ExitFindings, [][]string{
			header,
			{"444444444402", "dev-tools", dev, "dev-tools-artifacts", "bucket", "us-east-1", `statement 0 (Sid "DenyEveryone") denies every action to everyone`},
			{"444444444402", "dev-tools", dev, "dev-tools-vpc-only", "bucket", "eu-west-1", `statement 0 (Sid "OnlyFromRetiredVpce") denies every action to everyone except requests where aws:SourceVpce is vpce-0deleted00000000`},
			{"444444444403", "dev-events", dev, "dev-events-orders", "queue", "us-east-1", `statement 0 (Sid "DenyAll") denies every action to everyone`},
		}, []string{"15 accounts: 2 locked buckets, 1 locked queues (queues read in us-east-1), 0 errors", unlockHelp, artifacts, vpcOnly, orders}},
		{"an account that cannot be checked", fixtures.Options{AssumeRootFaults: map[string]string{"444444444402": "AccessDenied"}}, nil,
			[]string{"--accounts", "444444444402,444444444403"}, ExitPartial, [][]string{header,
				{"444444444402", "dev-tools", dev, "-", "-", "-", denied},
				{"444444444403", "dev-events", dev, "dev-events-orders", "queue", "us-east-1", `statement 0 (Sid "DenyAll") denies every action to everyone`},
			}, []string{"2 accounts: 0 locked buckets, 1 locked queues (queues read in us-east-1), 1 errors", unlockHelp, orders}},
		{"nothing locked", fixtures.Options{}, nil, []string{"--accounts", "444444444401"}, ExitOK, [][]string{header},
			[]string{"1 accounts: 0 locked buckets, 0 locked queues (queues read in us-east-1), 0 errors"}},
		{"a bucket locked by two statements: a row each", fixtures.Options{}, func(o *fixtures.Org) {
			for i := range o.Accounts {
				for j := range o.Accounts[i].Buckets {
					if b := &o.Accounts[i].Buckets[j]; b.Name == "dev-tools-logs" {
						b.Policy = `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"},` +
							`{"Sid":"B","Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3:::dev-tools-logs"}]}`
					}
				}
			}
		}, []string{"--accounts", "444444444402"}, ExitFindings, [][]string{
			header,
			{"444444444402", "dev-tools", dev, "dev-tools-artifacts", "bucket", "us-east-1", `statement 0 (Sid "DenyEveryone") denies every action to everyone`},
			{"444444444402", "dev-tools", dev, "dev-tools-logs", "bucket", "us-east-1", `statement 0 (Sid "A") denies every action to everyone`},
			{"444444444402", "dev-tools", dev, "dev-tools-logs", "bucket", "us-east-1", `statement 1 (Sid "B") denies every action to everyone`},
			{"444444444402", "dev-tools", dev, "dev-tools-vpc-only", "bucket", "eu-west-1", `statement 0 (Sid "OnlyFromRetiredVpce") denies every action to everyone except requests where aws:SourceVpce is vpce-0deleted00000000`},
		}, []string{"1 accounts: 3 locked buckets, 0 locked queues (queues read in us-east-1), 0 errors", unlockHelp, artifacts,
			"  rootctl unlock s3 --account 444444444402 --bucket dev-tools-logs --reason 'INC-7 find it'", vpcOnly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := reportOrg(t) // the demo without its guardrail OUs (the pre-flight tests cover them)
			if tt.edit != nil {
				tt.edit(org)
			}
			h := newHarness(t, org, tt.opts)
			code, out, stderr := h.run(append([]string{"locks", "--reason", "INC-7 find it"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s", code, tt.wantCode, stderr)
			}
			rows, rest := tableRows(out)
			if !reflect.DeepEqual(rows, tt.want) || !slices.Equal(rest, tt.after) {
				t.Fatalf("table rows\n%q\nthen %q\nwant\n%q\nthen %q", rows, rest, tt.want, tt.after)
			}
		})
	}
}

// tableRows reads a table's rows as their cells, and the lines outside
// the table.
func tableRows(out string) (rows [][]string, rest []string) {
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "│"):
			cells := strings.Split(strings.Trim(line, "│"), "│")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		case strings.HasPrefix(line, "┌"), strings.HasPrefix(line, "├"), strings.HasPrefix(line, "└"):
		default:
			rest = append(rest, line)
		}
	}
	return rows, rest
}
