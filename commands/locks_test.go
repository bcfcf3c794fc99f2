package commands

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/orgrun"
)

// TestLocksFindsLockedBucketsAndQueues: locks reads the demo
// organization's bucket policies with S3UnlockBucketPolicy sessions and its
// queue policies, in pages of one queue, with a second session per account
// scoped to SQSUnlockQueuePolicy: dev-events-orders' deny-all policy makes
// 444444444403 locked (it was reported clear), and the report gives each
// locked resource its kind, region and the exact rootctl unlock command.
func TestLocksFindsLockedBucketsAndQueues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{PageSize: 1})
	code, out, stderr := h.run("locks", "--ou", "ou-d3m0-dev00001", "--reason", "INC-9 the orders queue", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseJSON[LocksReport](t, out)
	var got []string
	status := map[string]string{}
	for _, a := range r.Accounts {
		status[a.ID] = a.Status
		for _, l := range append(append([]LockedResource{}, a.Locked...), a.LockedQueues...) {
			got = append(got, strings.Join([]string{a.ID, a.OUPath, l.Kind, l.Service, l.Name, l.Region, l.Locks[0].Sid, l.Command}, " | "))
		}
	}
	want := []string{
		"444444444402 | Root/Development | bucket | s3 | dev-tools-artifacts | us-east-1 | DenyEveryone | rootctl unlock s3 --account 444444444402 --bucket dev-tools-artifacts --reason 'INC-9 the orders queue'",
		"444444444402 | Root/Development | bucket | s3 | dev-tools-vpc-only | eu-west-1 | OnlyFromRetiredVpce | rootctl unlock s3 --account 444444444402 --bucket dev-tools-vpc-only --reason 'INC-9 the orders queue'",
		"444444444403 | Root/Development | queue | sqs | dev-events-orders | us-east-1 | DenyAll | rootctl unlock sqs --account 444444444403 --queue dev-events-orders --region us-east-1 --reason 'INC-9 the orders queue'",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("locked:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantStatus := map[string]string{"444444444401": orgrun.StatusClear, "444444444402": orgrun.StatusLocked, "444444444403": orgrun.StatusLocked,
		"444444444404": orgrun.StatusSkipped, "444444444405": orgrun.StatusClear}
	for id, s := range wantStatus {
		if status[id] != s {
			t.Errorf("%s: %s, want %s", id, status[id], s)
		}
	}
	if r.Locked != 2 || r.LockedQueues != 1 || r.Errors != 0 || !slices.Equal(r.QueueRegions, []string{"us-east-1"}) {
		t.Errorf("summary: %d locked buckets, %d locked queues, %d errors, queue regions %v", r.Locked, r.LockedQueues, r.Errors, r.QueueRegions)
	}
	for _, a := range r.Accounts {
		if a.ID == "444444444403" && (a.Queues != 2 || a.Buckets != 0) {
			t.Errorf("444444444403 read %d queues and %d buckets, want 2 and 0", a.Queues, a.Buckets)
		}
	}
	// Every SQS call in an SQS session, every S3 call in an S3 one, the
	// queues listed page by page; two sessions per account checked.
	assumed, tasks := 0, map[string][]string{}
	var sqsOps []string
	for _, c := range h.srv.Calls() {
		if c.Service == "s3" || c.Service == "sqs" {
			if !slices.Contains(tasks[c.Account], c.Task) {
				tasks[c.Account] = append(tasks[c.Account], c.Task)
			}
		}
		switch {
		case c.Service == "sts" && c.Operation == "AssumeRoot":
			assumed++
		case c.Service == "sqs" && c.Task != "SQSUnlockQueuePolicy", c.Service == "s3" && c.Task != "S3UnlockBucketPolicy":
			t.Errorf("%s:%s made in a %q session", c.Service, c.Operation, c.Task)
		case c.Service == "sqs" && c.Account == "444444444403":
			sqsOps = append(sqsOps, c.Operation)
		}
	}
	if want := []string{"ListQueues", "ListQueues", "GetQueueAttributes", "GetQueueAttributes"}; !slices.Equal(sqsOps, want) {
		t.Errorf("SQS calls in 444444444403: %q, want %q", sqsOps, want)
	}
	for _, id := range []string{"444444444401", "444444444402", "444444444403", "444444444405"} {
		if slices.Sort(tasks[id]); !slices.Equal(tasks[id], []string{"S3UnlockBucketPolicy", "SQSUnlockQueuePolicy"}) {
			t.Errorf("sessions in %s: %q, want S3 and SQS", id, tasks[id])
		}
	}
	if assumed != 8 {
		t.Errorf("%d AssumeRoot calls, want 8: two in each of the 4 accounts checked", assumed)
	}
	if len(writeCalls(h.srv.Calls())) != 0 {
		t.Fatal("locks changed something")
	}
}

// TestLocksPrintsTheCommandThatUnlocks: the table lists the locked queue
// with its kind and region, and the command it prints, run as printed,
// removes the queue's policy.
func TestLocksPrintsTheCommandThatUnlocks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	code, out, stderr := h.run("locks", "444444444403", "--reason", "INC-9 it's locked")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"│ 444444444403 │ dev-events │ Root/Development │ dev-events-orders │ queue │ us-east-1 │ statement 0 (Sid \"DenyAll\") denies every action to everyone",
		"1 accounts: 0 locked buckets, 1 locked queues (queues read in us-east-1), 0 errors",
		`  rootctl unlock sqs --account 444444444403 --queue dev-events-orders --region us-east-1 --reason 'INC-9 it'\''s locked'`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	line := regexp.MustCompile(`(?m)^  rootctl (unlock .*)$`).FindStringSubmatch(out)[1]
	code, _, stderr = h.run(append(shellWords(t, line), "--yes")...)
	if code != ExitOK || queuePolicy(t, h, "444444444403", "dev-events-orders") != "" {
		t.Fatalf("the printed command: exit %d, policy %q: %s", code, queuePolicy(t, h, "444444444403", "dev-events-orders"), stderr)
	}
	if code, _, _ := h.run("locks", "444444444403", "--reason", "INC-9 check again"); code != ExitOK {
		t.Fatalf("locks after the unlock: exit %d, want 0", code)
	}
}

// TestLocksListsQueuesInTheRegionsAsked: queues are listed in
// --queue-regions (default: the run's region), and the report says where.
func TestLocksListsQueuesInTheRegionsAsked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		regions []string
		locked  int
	}{
		{"the run's region by default", nil, []string{"us-east-1"}, 1},
		{"--region is the run's region", []string{"--region", "eu-west-1"}, []string{"eu-west-1"}, 0},
		{"another region only", []string{"--queue-regions", "eu-west-1"}, []string{"eu-west-1"}, 0},
		{"several regions, each once", []string{"--queue-regions", "eu-west-1,us-east-1", "--queue-regions", "eu-west-1"}, []string{"eu-west-1", "us-east-1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			_, out, stderr := h.run(append([]string{"locks", "444444444403", "--reason", "r", "-o", "json"}, tt.args...)...)
			r := parseJSON[LocksReport](t, out)
			if !slices.Equal(r.QueueRegions, tt.regions) || r.LockedQueues != tt.locked {
				t.Fatalf("queue regions %v, %d locked queues; want %v and %d: %s", r.QueueRegions, r.LockedQueues, tt.regions, tt.locked, stderr)
			}
		})
	}
}

func TestUnlockCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		res    LockedResource
		aws    AWSOptions
		reason string
		want   string
	}{
		{"a bucket, the demo simulator", bucketAt("444444444402", "b-1", "eu-west-1"), AWSOptions{Sim: "demo"}, "INC-7",
			"rootctl unlock s3 --sim --account 444444444402 --bucket b-1 --reason INC-7"},
		{"a queue, a fixture file and a profile", queueAt("444444444403", "orders.fifo", "eu-west-1"), AWSOptions{Sim: "my org.json", Profile: "mgmt"}, "INC 8",
			"rootctl unlock sqs --sim='my org.json' --profile mgmt --account 444444444403 --queue orders.fifo --region eu-west-1 --reason 'INC 8'"},
		{"an endpoint, and a reason that looks like a flag", bucketAt("444444444402", "b-1", "us-east-1"), AWSOptions{EndpointURL: "http://127.0.0.1:4566"}, "-x; rm -rf ~",
			"rootctl unlock s3 --endpoint-url http://127.0.0.1:4566 --account 444444444402 --bucket b-1 --reason='-x; rm -rf ~'"},
		{"a queue name with shell characters", queueAt("444444444403", "a$(id)`b`", "us-east-1"), AWSOptions{}, "r",
			"rootctl unlock sqs --account 444444444403 --queue 'a$(id)`b`' --region us-east-1 --reason r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := unlockCommandLine(tt.res.Resource, tt.aws, tt.reason); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func bucketAt(account, name, region string) LockedResource {
	var r LockedResource
	r.Service, r.Account, r.Name, r.Region = "s3", account, name, region
	return r
}

func queueAt(account, name, region string) LockedResource {
	r := bucketAt(account, name, region)
	r.Service = "sqs"
	return r
}

// shellWords splits a command line as a POSIX shell would, for the
// quoting shellWord writes: plain words and single-quoted parts, with
// '\” for a quote.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, in = true, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		case c == ' ':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
