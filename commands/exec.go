package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/interrupt"
)

// lastMinute is when exec warns that the session is about to end.
const lastMinute = time.Minute

func execCommand(deps *Deps) *cli.Command {
	var in SessionInput
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a command with a root session in its environment",
		ArgsUsage: "-- COMMAND [ARGS…]",
		Description: `Assumes a root session in one member account, scoped to one task policy, and
runs COMMAND with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION and AWS_CREDENTIAL_EXPIRATION set (and AWS_PROFILE unset, so the
session is what the command uses). The command's exit code is rootctl's. A
warning goes to stderr when less than a minute of the session is left.

Examples:
   rootctl exec --sim --account 444444444402 --task s3-unlock --reason INC-7 -- aws s3api get-bucket-policy --bucket dev-tools-artifacts
   rootctl exec --account 111122223333 --task audit --reason SEC-1 -- ./check-root.sh`,
		Flags: sessionFlags(&in),
		Action: func(c *cli.Context) error {
			in.AWS = awsOptions(c)
			return ExecCommand(c.Context, in, c.Args().Slice(), deps)
		},
	}
}

// ExecCommand runs `rootctl exec`.
func ExecCommand(ctx context.Context, in SessionInput, argv []string, deps *Deps) error {
	task, d, err := in.check()
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return usageErrorf("no command to run: rootctl exec --account ID --task TASK --reason TEXT -- COMMAND [ARGS…]")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return usageErrorf("command %q not found: %v", argv[0], errors.Unwrap(err))
	}
	run, sess, creds, err := assumeFor(ctx, deps, in, task, d)
	if err != nil {
		return err
	}
	defer run.close()

	// The command gets the session only once the log shows it did.
	entry := auditlog.Entry{Account: in.Account, Task: task.Name, Action: "exec", Target: filepath.Base(path), SessionKeyID: sess.AccessKeyID}
	if err := run.journal.RecordStarted(entry); err != nil {
		return fmt.Errorf("%s was not run, as the audit log could not record it: %w", argv[0], err)
	}
	cmd := exec.Command(path, argv[1:]...) // not CommandContext: Ctrl-C reaches the child from the terminal; it decides
	// The child's stderr and our warning share one stream: a file is shared
	// by the kernel, anything else needs a lock.
	var stderr io.Writer = deps.IO.ErrOut
	if _, ok := stderr.(*os.File); !ok {
		stderr = &lockedWriter{w: stderr}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = deps.IO.In, deps.IO.Out, stderr
	cmd.Env = append(withoutAWSCredentials(deps.environ()), sessionEnv(run, sess, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)...)

	left := sess.Expires.Sub(run.env.Now())
	warn := func() {
		printf(stderr, "rootctl: warning: the root session in %s ends at %s, in less than a minute; AWS calls after that fail with ExpiredToken\n",
			in.Account, sess.Expires.UTC().Format(time.TimeOnly))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if left <= lastMinute {
		warn()
	} else {
		wg.Add(1)
		go func() { // the warning, unless the command ends first
			defer wg.Done()
			timer := time.NewTimer(left - lastMinute)
			defer timer.Stop()
			select {
			case <-timer.C:
				warn()
			case <-stop:
			}
		}()
	}
	// The command is in flight like an AWS call: a second Ctrl-C names it,
	// its session and account, as what rootctl leaves running.
	done := func() {}
	if tr := interrupt.TrackerFrom(ctx); tr != nil {
		done = tr.Begin(interrupt.Call{Service: "exec", Operation: filepath.Base(path), Target: sess.AccessKeyID, Account: in.Account})
	}
	runErr := cmd.Run()
	done()
	close(stop)
	wg.Wait()

	entry.Outcome = auditlog.Success
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		entry.Outcome, entry.Error = auditlog.Failed, fmt.Sprintf("exit status %d", exitErr.ExitCode())
		run.journal.Record(entry)
		code := exitErr.ExitCode()
		if code < 0 { // killed by a signal
			code = ExitCancelled
		}
		return &exitError{code: code}
	case runErr != nil:
		entry.Outcome, entry.Error = auditlog.Failed, runErr.Error()
		run.journal.Record(entry)
		return fmt.Errorf("running %s: %w", argv[0], runErr)
	}
	run.journal.Record(entry)
	return nil
}

// withoutAWSCredentials drops the variables that would make a program use
// other credentials than the session's.
func withoutAWSCredentials(env []string) []string {
	drop := map[string]bool{"AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true, "AWS_ACCESS_KEY_ID": true,
		"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true, "AWS_REGION": true,
		"AWS_DEFAULT_REGION": true, "AWS_CREDENTIAL_EXPIRATION": true, "AWS_ENDPOINT_URL": true,
		credentialProcessMarker: true} // the program is not loading rootctl's credentials
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
