package commands

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/interrupt"
	"github.com/rootctl/rootctl/orgrun"
)

// fastRetries makes d's AWS config give up after attempts, so that a test
// of timeouts runs in a second; everything else (the transport and its
// timeouts, the Pacer's backoff of at most 50 ms × 2^(retry−1) after a
// timed-out attempt) is what rootctl builds.
func fastRetries(d *Deps, attempts int) {
	load := d.LoadAWS
	d.LoadAWS = func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
		env, err := load(ctx, opts, io)
		if err == nil {
			env.AWS.Retryer = func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts, o.RateLimiter = attempts, ratelimit.None
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			}
		}
		return env, err
	}
}

// runWithin runs rootctl with deps and ctx, failing the test if the run
// has not ended within limit (it would hang otherwise).
func runWithin(t *testing.T, limit time.Duration, ctx context.Context, deps func(out, errOut *bytes.Buffer) *Deps, args ...string) (int, string, string, time.Duration) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := deps(&out, &errOut)
	start := time.Now()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, append([]string{"rootctl"}, args...), d) }()
	select {
	case code := <-done:
		return code, out.String(), errOut.String(), time.Since(start)
	case <-time.After(limit):
		t.Fatalf("%q still running after %v: a hung call held the run", args, limit)
		return 0, "", "", 0
	}
}

// holdUntilGivenUp is a fixtures Hold that hangs every call to op until
// its client gives up, counting them and calling arrived (if set) at each.
func holdUntilGivenUp(op string, held *atomic.Int32, arrived func()) func(context.Context, fixtures.Call) {
	return func(ctx context.Context, c fixtures.Call) {
		if c.Service+":"+c.Operation != op {
			return
		}
		held.Add(1)
		if arrived != nil {
			arrived()
		}
		<-ctx.Done()
	}
}

func TestFinishConfigBoundsEveryAttempt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
		err     string
	}{
		{"no --request-timeout: 30s", 0, 30 * time.Second, ""},
		{"--request-timeout 200ms", 200 * time.Millisecond, 200 * time.Millisecond, ""},
		{"--request-timeout 10m, the most", 10 * time.Minute, 10 * time.Minute, ""},
		{"--request-timeout over 10m is refused", 11 * time.Minute, 0, "--request-timeout 11m0s: want a duration above 0 and at most 10m"},
		{"a negative --request-timeout is refused", -time.Second, 0, "--request-timeout -1s: want a duration above 0 and at most 10m"},
	} {
		cfg := aws.Config{Region: "eu-west-1"}
		err := finishConfig(&cfg, AWSOptions{RequestTimeout: tc.timeout})
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) || exitCode(err) != ExitUsage {
				t.Errorf("%s: %v, want exit 2 with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, ok := cfg.HTTPClient.(interface {
			GetTransport() *http.Transport
			GetDialer() *net.Dialer
		})
		if !ok {
			t.Fatalf("%s: HTTP client %T tells neither its transport nor its dialer", tc.name, cfg.HTTPClient)
		}
		tr, dialer := c.GetTransport(), c.GetDialer()
		if tr.ResponseHeaderTimeout != tc.want || dialer.Timeout != tc.want || tr.TLSHandshakeTimeout != min(tc.want, 10*time.Second) {
			t.Errorf("%s: response headers %v, connect %v, TLS %v; want %v, and at most 10s for TLS", tc.name, tr.ResponseHeaderTimeout, dialer.Timeout, tr.TLSHandshakeTimeout, tc.want)
		}
		if n := cfg.Retryer().MaxAttempts(); n != 10 {
			t.Errorf("%s: %d attempts, want 10 (a timed-out attempt is retried, boundedly)", tc.name, n)
		}
	}
}

// TestAHungCallTimesOut: an IAM read that never gets an answer, with
// --request-timeout 200ms: each attempt gives up after 200ms and is
// retried; after the last, the account is reported as an error that says
// it timed out, and the run ends (exit 4) instead of hanging.
func TestAHungCallTimesOut(t *testing.T) {
	t.Parallel()
	var held atomic.Int32
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdUntilGivenUp("iam:ListAccessKeys", &held, nil)})
	deps := func(out, errOut *bytes.Buffer) *Deps {
		d := h.deps(out, errOut)
		fastRetries(d, 3)
		return d
	}
	code, out, stderr, took := runWithin(t, 10*time.Second, context.Background(), deps,
		"delete", "--accounts", "333333333304", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes", "-o", "json", "--request-timeout", "200ms")
	if code != ExitPartial {
		t.Fatalf("exit %d, want 4: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	a := r.Accounts[0]
	if a.Status != orgrun.StatusError || !strings.Contains(a.Error, "ListAccessKeys, no answer within 200ms (--request-timeout), 3 attempts; the endpoint or the network is slow or down: try again later, or raise --request-timeout") {
		t.Fatalf("account %s: %s: %q; want an error saying the call timed out", a.ID, a.Status, a.Error)
	}
	if n := held.Load(); n != 3 {
		t.Fatalf("%d attempts reached the emulator, want 3", n)
	}
	if took > 5*time.Second {
		t.Fatalf("the run took %v: 3 attempts of 200ms should take about 0.6s", took)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Fatalf("changes made: %v", w)
	}
}

// TestCtrlCDuringAHungRead: Ctrl-C while a read of the plan hangs (the
// default --request-timeout of 30s is far off) ends the run at once, with
// exit 130 and nothing changed.
func TestCtrlCDuringAHungRead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held atomic.Int32
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdUntilGivenUp("iam:ListAccessKeys", &held, cancel)})
	code, out, stderr, took := runWithin(t, 10*time.Second, ctx, h.deps,
		"delete", "--accounts", "333333333304", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes", "-o", "json")
	if code != ExitCancelled || !strings.Contains(stderr, "rootctl: interrupted while planning: nothing was changed") {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	if took > 5*time.Second {
		t.Fatalf("the run took %v after Ctrl-C", took)
	}
	if r := parseJSON[JobReport](t, out); r.Accounts[0].Status != orgrun.StatusInterrupted {
		t.Fatalf("account %+v, want interrupted", r.Accounts[0])
	}
	if w := writeCalls(h.srv.Calls()); held.Load() != 1 || len(w) != 0 {
		t.Fatalf("%d held, changes %v", held.Load(), w)
	}
}

// TestCtrlCDuringAHungChange: a deletion, once sent, is let finish after
// Ctrl-C; if it never gets an answer, --request-timeout still ends it: the
// run ends with 130, the deletion reported failed with the timeout (its
// outcome is unknown to rootctl) and the next one not done.
func TestCtrlCDuringAHungChange(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held atomic.Int32
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdUntilGivenUp("iam:DeleteAccessKey", &held, cancel)})
	deps := func(out, errOut *bytes.Buffer) *Deps {
		d := h.deps(out, errOut)
		fastRetries(d, 3)
		return d
	}
	code, out, stderr, _ := runWithin(t, 10*time.Second, ctx, deps,
		"delete", "--accounts", "333333333304", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes", "-o", "json", "--request-timeout", "200ms")
	if code != ExitCancelled {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	r := parseJSON[JobReport](t, out)
	var got []string
	for _, a := range r.Accounts[0].Actions {
		got = append(got, a.ID+" "+a.Outcome)
	}
	if want := []string{"AKIA3DEMO0PRODAPI001 failed", "AKIA3DEMO0PRODAPI002 not_done"}; !slices.Equal(got, want) ||
		!strings.Contains(r.Accounts[0].Actions[0].Error, "no answer within 200ms (--request-timeout), 3 attempts") {
		t.Fatalf("actions %q (%q), want %q with the timeout", got, r.Accounts[0].Actions[0].Error, want)
	}
	if n := held.Load(); n != 3 {
		t.Fatalf("%d attempts of the deletion, want 3", n)
	}
}

// TestInterruptedUnlockWhoseChangeWasMade: Ctrl-C while the change is in
// flight. The change is let finish and is verified; the run still exits
// 130, saying the change WAS made and where the backup is.
func TestInterruptedUnlockWhoseChangeWasMade(t *testing.T) {
	t.Parallel()
	fixed := filepath.Join(t.TempDir(), "fixed.json")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444402:root"},"Action":"s3:*","Resource":"arn:aws:s3:::dev-tools-artifacts"}]}`
	if err := os.WriteFile(fixed, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		op     string
		flags  []string
		action string
		after  string
		done   string
	}{
		{"the policy deleted", "DeleteBucketPolicy", nil, "deleted the policy of", "", "Done: delete of bucket dev-tools-artifacts (us-east-1); verified: yes (read back)"},
		{"the policy replaced", "PutBucketPolicy", []string{"--policy-file", fixed}, "replaced the policy of", policy, "Done: replace of bucket dev-tools-artifacts (us-east-1); verified: yes (read back)"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		h := newHarness(t, demoOrg(t), fixtures.Options{OnCall: func(c fixtures.Call) {
			if c.Operation == tc.op && c.Code == "" {
				cancel() // Ctrl-C as the change is answered
			}
		}})
		code, out, stderr := h.runCtx(ctx, append([]string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-9", "--yes"}, tc.flags...)...)
		cancel()
		files := backups(t, h)
		if len(files) != 1 {
			t.Fatalf("%s: backups %q", tc.name, files)
		}
		want := fmt.Sprintf("rootctl: interrupted, but the change WAS made and verified: %s bucket dev-tools-artifacts (us-east-1); the previous policy is in %s\n", tc.action, files[0])
		if code != ExitCancelled || !strings.HasSuffix(stderr, want) {
			t.Fatalf("%s: exit %d, stderr %q; want 130 and %q", tc.name, code, stderr, want)
		}
		if !strings.Contains(out, tc.done) {
			t.Fatalf("%s: stdout %q, want %q", tc.name, out, tc.done)
		}
		if p := bucketPolicy(t, h, "444444444402", "dev-tools-artifacts"); p != tc.after {
			t.Fatalf("%s: policy now %q, want %q", tc.name, p, tc.after)
		}
		if got := actionsOf(auditEntries(t, h)); !slices.Equal(got, []string{"444444444402 s3:" + tc.op + " arn:aws:s3:::dev-tools-artifacts success"}) {
			t.Fatalf("%s: audit log %q", tc.name, got)
		}
	}
}

// busyMessage matches the last line of a run that finds its target
// locked by this test process.
func busyMessage(what, command string) *regexp.Regexp {
	pid := os.Getpid()
	return regexp.MustCompile(fmt.Sprintf(`(^|\n)rootctl: %s is being changed by another rootctl run \(pid %d, %s, since \d\d:\d\d:\d\d\); nothing was changed; wait for it or check: ps -p %d\n$`,
		regexp.QuoteMeta(what), pid, regexp.QuoteMeta(command), pid))
}

// holdFirst is a fixtures Hold that holds the first call to op until
// release is closed, telling arrived when it comes.
func holdFirst(op string, arrived chan<- struct{}, release <-chan struct{}) func(context.Context, fixtures.Call) {
	var once sync.Once
	return func(ctx context.Context, c fixtures.Call) {
		if c.Operation != op {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
}

// TestTwoUnlocksOfOneBucketDoNotInterleave: while one unlock's change of
// a bucket is in flight (held in the emulator), a second unlock of the
// same bucket is refused before it calls AWS at all, naming the first run;
// an unlock of another bucket goes ahead. The first then finishes, and the
// bucket's policy was changed once, with one backup.
func TestTwoUnlocksOfOneBucketDoNotInterleave(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdFirst("DeleteBucketPolicy", arrived, release)})
	args := []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes"}
	first := make(chan int, 1)
	go func() {
		code, _, _ := h.run(args...)
		first <- code
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first unlock never sent its change")
	}

	calls := len(h.srv.Calls())
	code, out, stderr := h.run(args...)
	if code != ExitFailure || out != "" || !busyMessage("bucket dev-tools-artifacts in account 444444444402", "unlock s3").MatchString(stderr) {
		t.Fatalf("second unlock: exit %d, stdout %q, stderr %q; want 1 and the holder named", code, out, stderr)
	}
	if n := len(h.srv.Calls()); n != calls {
		t.Fatalf("the refused unlock made %d calls: %v", n-calls, h.srv.Calls()[calls:])
	}
	code, _, stderr = h.run("unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-vpc-only", "--reason", "INC-7", "--yes")
	if code != ExitOK {
		t.Fatalf("an unlock of another bucket meanwhile: exit %d: %s", code, stderr)
	}

	close(release)
	if code := <-first; code != ExitOK {
		t.Fatalf("the first unlock: exit %d", code)
	}
	deletes := 0
	for _, c := range h.srv.Calls() {
		if c.Operation == "DeleteBucketPolicy" {
			deletes++
		}
	}
	if deletes != 2 || len(backups(t, h)) != 2 {
		t.Fatalf("%d DeleteBucketPolicy calls and backups %q; want one of each per bucket", deletes, backups(t, h))
	}
	// Released: the bucket can be unlocked again (here: it has no policy).
	if code, _, stderr := h.run(args...); code != ExitFailure || !strings.Contains(stderr, "has no policy, so nothing is locked") {
		t.Fatalf("after the first run: exit %d: %s", code, stderr)
	}
}

// TestTwoDeletesOfOneAccountDoNotInterleave: while a delete's change in
// an account is in flight, a second delete that plans the same account
// (among others) is refused before it changes anything, and releases the
// locks it took; a delete of another account goes ahead meanwhile.
func TestTwoDeletesOfOneAccountDoNotInterleave(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdFirst("DeleteAccessKey", arrived, release)})
	first := make(chan int, 1)
	go func() {
		code, _, _ := h.run("delete", "--accounts", "333333333304", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes")
		first <- code
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first delete never sent its change")
	}

	writes := len(writeCalls(h.srv.Calls()))
	code, out, stderr := h.run("delete", "--accounts", "333333333301,333333333304", "--accept", "recently-used-key", "--reason", "SEC-43", "--yes", "-o", "json")
	if code != ExitFailure || out != "" || !busyMessage("account 333333333304", "delete").MatchString(stderr) {
		t.Fatalf("second delete: exit %d, stdout %q, stderr %q; want 1 and the holder named", code, out, stderr)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != writes {
		t.Fatalf("the refused delete made changes: %v", w[writes:])
	}
	code, _, stderr = h.run("delete", "--accounts", "333333333301", "--reason", "SEC-44", "--yes")
	if code != ExitOK {
		t.Fatalf("a delete of the other account meanwhile (its lock released by the refused run): exit %d: %s", code, stderr)
	}

	close(release)
	if code := <-first; code != ExitOK {
		t.Fatalf("the first delete: exit %d", code)
	}
	if root := rootOf(t, h, "333333333304"); len(root.AccessKeys) != 0 {
		t.Fatalf("access keys left: %+v", root.AccessKeys)
	}
}

// TestSecondSignalNamesTheCallInFlight: a real delete under the signal
// handler. Ctrl-C while a deletion hangs lets it go on; the second Ctrl-C
// exits 130 at once, naming the deletion, its key and its account.
func TestSecondSignalNamesTheCallInFlight(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdFirst("DeleteAccessKey", arrived, release)})
	sigs, exited := make(chan os.Signal), make(chan int, 1)
	var notes syncBuffer
	handler := &interrupt.Handler{ErrOut: &notes, Tracker: interrupt.NewTracker(nil), Exit: func(code int) { exited <- code }}
	ctx, stop := handler.Watch(context.Background(), sigs)
	defer stop()
	done := make(chan int, 1)
	go func() {
		code, _, _ := h.runCtx(ctx, "delete", "--accounts", "333333333304", "--accept", "recently-used-key", "--reason", "SEC-42", "--yes")
		done <- code
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the delete never sent its change")
	}
	sigs <- os.Interrupt
	select {
	case <-done:
		t.Fatal("the first Ctrl-C ended the run while a deletion was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- os.Interrupt
	select {
	case code := <-exited:
		if code != 130 {
			t.Fatalf("exit %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second Ctrl-C did not exit")
	}
	want := regexp.MustCompile(`^rootctl: interrupting: finishing calls already sent; press Ctrl-C again to exit now\n` +
		`rootctl: interrupted again; exiting now. In flight: iam:DeleteAccessKey AKIA3DEMO0PRODAPI001 in 333333333304 \(sent \d+(\.\d)?m?s ago\); its outcome is unknown \(check before running again\)\n$`)
	if !want.MatchString(notes.String()) {
		t.Fatalf("notes %q", notes.String())
	}
	close(release) // the process would be gone; here the run ends
	if code := <-done; code != ExitCancelled {
		t.Fatalf("run: exit %d", code)
	}
}

// TestSecondSignalNamesTheCommandExecRuns: under exec, the command holding
// the root session is what is in flight; the second Ctrl-C names it, its
// session key and its account.
func TestSecondSignalNamesTheCommandExecRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, demoOrg(t), fixtures.Options{})
	sigs, exited := make(chan os.Signal), make(chan int, 1)
	var notes syncBuffer
	handler := &interrupt.Handler{ErrOut: &notes, Tracker: interrupt.NewTracker(nil), Exit: func(code int) { exited <- code }}
	ctx, stop := handler.Watch(context.Background(), sigs)
	defer stop()
	marker := filepath.Join(t.TempDir(), "started")
	done := make(chan int, 1)
	go func() {
		code, _, _ := h.runCtx(ctx, "exec", "--account", "444444444402", "--task", "audit", "--reason", "SEC-42", "--",
			"sh", "-c", "touch "+marker+"; sleep 1")
		done <- code
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
	}
	sigs <- os.Interrupt
	sigs <- os.Interrupt
	select {
	case code := <-exited:
		if code != 130 {
			t.Fatalf("exit %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second Ctrl-C did not exit")
	}
	want := regexp.MustCompile(`In flight: exec:sh ASIA\w+ in 444444444402 \(sent \d+(\.\d+)?m?s ago\)`)
	if !want.MatchString(notes.String()) {
		t.Fatalf("notes %q", notes.String())
	}
	<-done
}

// TestCtrlCDuringAssumeRootRecordsItsOutcome: Ctrl-C while an AssumeRoot
// is in flight lets it finish, like any call already sent, so that the
// audit log says what AWS did (a session was issued, and it shows in
// CloudTrail) rather than "failed: context canceled"; nothing is changed
// with the session, and the run exits 130.
func TestCtrlCDuringAssumeRootRecordsItsOutcome(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdFirst("AssumeRoot", arrived, release)})
	go func() {
		<-arrived
		cancel()
		time.Sleep(100 * time.Millisecond) // the client has seen the cancellation
		close(release)
	}()
	code, _, stderr := h.runCtx(ctx, "delete", "333333333301", "--reason", "SEC-42", "--yes", "-o", "json")
	if code != ExitCancelled {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	var got []string
	for _, e := range auditEntries(t, h) {
		got = append(got, e.Account+" "+e.Action+" "+e.Outcome+" "+e.Error)
	}
	if want := []string{"333333333301 AssumeRoot started ", "333333333301 AssumeRoot success "}; !slices.Equal(got, want) {
		t.Fatalf("audit log %q, want %q", got, want)
	}
	if w := writeCalls(h.srv.Calls()); len(w) != 0 {
		t.Fatalf("changes after Ctrl-C: %v", w)
	}
}

// TestCtrlCDuringCredentialsAssumeRootHandsNothingOut: the session that an
// interrupted credentials run was issued is recorded, but not printed.
func TestCtrlCDuringCredentialsAssumeRootHandsNothingOut(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, demoOrg(t), fixtures.Options{Hold: holdFirst("AssumeRoot", arrived, release)})
	go func() {
		<-arrived
		cancel()
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()
	code, out, stderr := h.runCtx(ctx, "credentials", "--account", "444444444402", "--task", "audit", "--reason", "INC-7", "--format", "json")
	if code != ExitCancelled || out != "" || !strings.Contains(stderr, "interrupted: the session was not handed out") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 130, nothing on stdout", code, out, stderr)
	}
	if es := auditEntries(t, h); len(es) != 2 || es[1].Outcome != "success" {
		t.Fatalf("audit log %+v, want the AssumeRoot started and its success", es)
	}
}
