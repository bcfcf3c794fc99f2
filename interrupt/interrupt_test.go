package interrupt

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/rootctl/rootctl/fixtures"
)

// clock is a fake clock a test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the handler's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTrackSeesEachCallWhileInFlight drives real SDK clients through the
// emulator, holding each call there: while held, the tracker of the call's
// context lists it with its service, operation, target and account (from
// the session's Account option, or AssumeRoot's target principal); once
// answered, it is gone. A context without a tracker is not tracked.
func TestTrackSeesEachCallWhileInFlight(t *testing.T) {
	t.Parallel()
	org, err := fixtures.Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan fixtures.Call), make(chan struct{})
	srv := fixtures.New(org, fixtures.Options{Hold: func(ctx context.Context, c fixtures.Call) {
		if c.Service == "sts" && c.Operation == "GetCallerIdentity" {
			return
		}
		held <- c
		select {
		case <-release:
		case <-ctx.Done():
		}
	}})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	mgmt := srv.ManagementCredentials()
	base := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(mgmt.AccessKeyID, mgmt.SecretAccessKey, ""),
		BaseEndpoint: aws.String(srv.URL()),
		APIOptions:   []func(*middleware.Stack) error{Track},
	}
	tracker := NewTracker(nil)
	ctx := WithTracker(context.Background(), tracker)

	var sessionCreds *ststypes.Credentials
	session := func() aws.Config {
		cfg := base.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(*sessionCreds.AccessKeyId, *sessionCreds.SecretAccessKey, *sessionCreds.SessionToken)
		cfg.APIOptions = append(slices.Clip(cfg.APIOptions), Account("444444444402"))
		return cfg
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"AssumeRoot names the account it targets", func() error {
			out, err := sts.NewFromConfig(base).AssumeRoot(ctx, &sts.AssumeRootInput{TargetPrincipal: aws.String("444444444402"),
				TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy")}})
			if err == nil {
				sessionCreds = out.Credentials
			}
			return err
		}, "sts:AssumeRoot in 444444444402"},
		{"a root session's call names its account and target", func() error {
			_, err := s3.NewFromConfig(session(), func(o *s3.Options) { o.UsePathStyle = true }).
				GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("dev-tools-artifacts")})
			return err
		}, "s3:GetBucketPolicy dev-tools-artifacts in 444444444402"},
		{"a call of the caller's own names its target only", func() error {
			_, err := iam.NewFromConfig(base).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIA\x1b[2JEXAMPLE")})
			return err
		}, "iam:DeleteAccessKey AKIA?[2JEXAMPLE"},
	} {
		done := make(chan error, 1)
		go func() { done <- tc.call() }()
		<-held
		var got []string
		for _, c := range tracker.InFlight() {
			got = append(got, c.String())
		}
		if !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: in flight %q, want %q", tc.name, got, tc.want)
		}
		release <- struct{}{}
		if err := <-done; err != nil && tc.name != "a call of the caller's own names its target only" {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := len(tracker.InFlight()); n != 0 {
			t.Errorf("%s: %d calls in flight after the answer", tc.name, n)
		}
	}

	// Without a tracker in the context, calls go untracked and unharmed.
	done := make(chan error, 1)
	go func() {
		_, err := iam.NewFromConfig(base).ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{})
		done <- err
	}()
	<-held
	if n := len(tracker.InFlight()); n != 0 {
		t.Errorf("a call without the tracker in its context was tracked")
	}
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// watch starts a handler on a channel the test sends signals on, with an
// exit that reports its code instead of ending the test binary.
func watch(t *testing.T, tracker *Tracker) (ctx context.Context, sigs chan os.Signal, out *syncBuffer, exited chan int, stop func()) {
	t.Helper()
	sigs, out, exited = make(chan os.Signal), &syncBuffer{}, make(chan int, 1)
	h := &Handler{ErrOut: out, Tracker: tracker, Exit: func(code int) { exited <- code }}
	ctx, stop = h.Watch(context.Background(), sigs)
	t.Cleanup(stop)
	return ctx, sigs, out, exited, stop
}

// TestSignals: the first signal cancels the run with a one-line note and
// does not exit; the second names what was in flight, with how long ago
// it was sent, and exits 130.
func TestSignals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		first    os.Signal
		note     string
		inFlight []Call
		last     string
	}{
		{"Ctrl-C twice with a deletion in flight", os.Interrupt,
			"rootctl: interrupting: finishing calls already sent; press Ctrl-C again to exit now\n",
			[]Call{{Service: "iam", Operation: "DeleteAccessKey", Target: "AKIA3DEMO0PRODAPI001", Account: "333333333304"}},
			"rootctl: interrupted again; exiting now. In flight: iam:DeleteAccessKey AKIA3DEMO0PRODAPI001 in 333333333304 (sent 2.1s ago); its outcome is unknown (check before running again)\n"},
		{"SIGHUP, then Ctrl-C with two calls in flight", syscall.SIGHUP,
			"rootctl: interrupting (SIGHUP): finishing calls already sent; press Ctrl-C again to exit now\n",
			[]Call{{Service: "s3", Operation: "DeleteBucketPolicy", Target: "dev-tools-artifacts", Account: "444444444402"},
				{Service: "organizations", Operation: "ListAccounts"}},
			"rootctl: interrupted again; exiting now. In flight, outcome unknown (check before running again):\n" +
				"  s3:DeleteBucketPolicy dev-tools-artifacts in 444444444402 (sent 2.1s ago)\n" +
				"  organizations:ListAccounts (sent 2s ago)\n"},
		{"SIGTERM, then another, with nothing in flight", syscall.SIGTERM,
			"rootctl: interrupting (SIGTERM): finishing calls already sent; press Ctrl-C again to exit now\n",
			nil,
			"rootctl: interrupted again; exiting now. No AWS call was in flight.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{t: time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)}
			tracker := NewTracker(clk.now)
			ctx, sigs, out, exited, _ := watch(t, tracker)
			for i, c := range tc.inFlight {
				defer tracker.Begin(c)()
				if i == 0 {
					clk.advance(100 * time.Millisecond)
				}
			}
			if ctx.Err() != nil || TrackerFrom(ctx) != tracker {
				t.Fatal("the context is cancelled before any signal, or does not carry the tracker")
			}
			sigs <- tc.first
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the first signal did not cancel the run")
			}
			clk.advance(2 * time.Second)
			if got := waitFor(out, tc.note); got != tc.note {
				t.Fatalf("after the first signal: %q, want %q", got, tc.note)
			}
			select {
			case code := <-exited:
				t.Fatalf("the first signal exited (%d)", code)
			default:
			}
			sigs <- os.Interrupt
			select {
			case code := <-exited:
				if code != 130 {
					t.Fatalf("exit %d, want 130", code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the second signal did not exit")
			}
			if got := out.String(); got != tc.note+tc.last {
				t.Fatalf("output %q\nwant   %q", got, tc.note+tc.last)
			}
		})
	}
}

// TestStopEndsTheWatch: a run that ends before any signal leaves no note,
// and stop releases the context.
func TestStopEndsTheWatch(t *testing.T) {
	t.Parallel()
	ctx, sigs, out, exited, stop := watch(t, NewTracker(nil))
	stop()
	stop() // twice is harmless
	if ctx.Err() == nil {
		t.Fatal("stop did not release the context")
	}
	select {
	case sigs <- os.Interrupt:
		t.Fatal("a signal was taken after stop")
	case <-time.After(20 * time.Millisecond):
	}
	if out.String() != "" || len(exited) != 0 {
		t.Fatalf("output %q, exits %d", out.String(), len(exited))
	}
}

// waitFor waits until out holds want (or a second passed), and returns it.
func waitFor(out *syncBuffer, want string) string {
	deadline := time.Now().Add(time.Second)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return out.String()
}

// TestHelperNotify is not a test: run with INTERRUPT_HELPER=1, it is a
// process under Notify that says "ready", then "cancelled" once its
// context is, and waits for the second signal to end it.
func TestHelperNotify(t *testing.T) {
	if os.Getenv("INTERRUPT_HELPER") != "1" {
		t.Skip("the helper process of TestNotifyWithRealSignals")
	}
	ctx, stop := Notify(context.Background(), os.Stderr)
	defer stop()
	os.Stdout.WriteString("ready\n")
	<-ctx.Done()
	os.Stdout.WriteString("cancelled\n")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestNotifyWithRealSignals: a process under Notify (as rootctl's main
// is) is cancelled by SIGHUP and ended, with exit status 130, by the
// SIGINT that follows.
func TestNotifyWithRealSignals(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP to send on Windows")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNotify$")
	cmd.Env = append(os.Environ(), "INTERRUPT_HELPER=1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewReader(stdout)
	if l, err := lines.ReadString('\n'); l != "ready\n" {
		t.Fatalf("helper: %q, %v", l, err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if l, err := lines.ReadString('\n'); l != "cancelled\n" {
		t.Fatalf("after SIGHUP: %q, %v", l, err)
	}
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("after the second signal: %v (exit %d), want exit 130; stderr %q", err, code, stderr.String())
	}
	want := "rootctl: interrupting (SIGHUP): finishing calls already sent; press Ctrl-C again to exit now\n" +
		"rootctl: interrupted again; exiting now. No AWS call was in flight.\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}
