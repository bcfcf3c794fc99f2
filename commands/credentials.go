package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// SessionInput holds the options of `rootctl credentials` and `rootctl exec`.
type SessionInput struct {
	AWS      AWSOptions
	Root     RootOptions
	Account  string
	Task     string
	Duration string // seconds, or a Go duration such as 10m
	Output   string // credentials only: env, json or process
	// outputFlag names the flag Output came from, for messages: --output,
	// or --format, its former name.
	outputFlag string
}

func sessionFlags(in *SessionInput) []cli.Flag {
	return append(append(awsFlags(), rootFlags(&in.Root)...),
		&cli.StringFlag{Name: "account", Destination: &in.Account, Usage: "the member `ACCOUNT_ID` to act in as root"},
		&cli.StringFlag{Name: "task", Destination: &in.Task, Usage: "the task policy: `TASK` is " + taskNames() + ", a policy name or its ARN"},
		&cli.StringFlag{Name: "duration", Value: "900", Destination: &in.Duration, Usage: "session length in `SECONDS` (or 10m), at most 900"},
	)
}

// check validates the inputs and returns the task and duration.
func (in SessionInput) check() (rootsession.Task, time.Duration, error) {
	if err := in.Root.check(); err != nil {
		return rootsession.Task{}, 0, err
	}
	switch {
	case in.Account == "":
		return rootsession.Task{}, 0, usageErrorf("--account is required: the 12-digit ID of a member account")
	case !awserr.ValidAccountID(in.Account):
		return rootsession.Task{}, 0, usageErrorf("--account %q: want a 12-digit account ID", in.Account)
	case in.Task == "":
		return rootsession.Task{}, 0, usageErrorf("--task is required: one of %s", taskNames())
	}
	task, err := rootsession.ParseTask(in.Task)
	if err != nil {
		return rootsession.Task{}, 0, usageErrorf("--task: %v", err)
	}
	d, err := parseDuration(in.Duration)
	if err != nil {
		return rootsession.Task{}, 0, err
	}
	return task, d, nil
}

// taskNames lists rootctl's names of the root tasks (rootsession.Tasks),
// for help and messages.
func taskNames() string {
	var names []string
	for _, t := range rootsession.Tasks() {
		names = append(names, t.Alias)
	}
	return strings.Join(names, ", ")
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.Atoi(s); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < time.Second || d > rootsession.MaxDuration || d%time.Second != 0 {
		return 0, usageErrorf("--duration %q: want whole seconds from 1 to 900 (AssumeRoot's limit), e.g. 900 or 10m", s)
	}
	return d, nil
}

// assumeFor runs the common part of credentials and exec: it opens the
// run and assumes the session. The assumer records it in the audit log
// ahead and after, and gives no session whose records are not on disk.
func assumeFor(ctx context.Context, deps *Deps, in SessionInput, task rootsession.Task, d time.Duration) (*rootRun, *rootsession.Session, aws.Credentials, error) {
	run, err := startAccountRun(ctx, deps, in.AWS, in.Root, in.Account)
	if err != nil {
		return nil, nil, aws.Credentials{}, err
	}
	sess, err := run.assumer.Assume(ctx, in.Account, task, d)
	if err == nil && ctx.Err() != nil {
		// Interrupted while AssumeRoot was in flight: it was let finish
		// and recorded, but the session is not handed out.
		err = &exitError{code: ExitCancelled, err: errors.New("interrupted: the session was not handed out")}
	}
	if err == nil {
		var creds aws.Credentials
		if creds, err = sess.Credentials(ctx); err == nil {
			return run, sess, creds, nil
		}
	}
	run.close()
	return nil, nil, aws.Credentials{}, err
}

var credentialFormats = []string{"env", "json", "process"}

func credentialsCommand(deps *Deps) *cli.Command {
	var in SessionInput
	return &cli.Command{
		Name:  "credentials",
		Usage: "print a root session's credentials (for eval, JSON, or an AWS CLI credential_process)",
		Description: `Assumes a root session in one member account, scoped to one task policy,
and prints its credentials. They are secret and valid for up to 15 minutes;
the session is recorded in the audit log (without the secret).

Formats: env (export lines for eval), json, process (credential_process
Version 1, for an AWS CLI profile).

Examples:
   rootctl credentials --account 111122223333 --task audit --duration 300 -o json --reason SEC-1
   eval "$(rootctl credentials --sim --account 444444444402 --task s3-unlock --reason INC-7)"
   # ~/.aws/config: the profile rootctl itself uses (--profile mgmt) must be
   # another one, with the management account's credentials
   [profile root-unlock]
   credential_process = rootctl credentials --profile mgmt --account 111122223333 --task s3-unlock -o process --reason "INC-7"`,
		Flags: append(sessionFlags(&in),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "env", Usage: "output `FORMAT`: env, json or process"},
			&cli.StringFlag{Name: "format", Hidden: true, Usage: "the former name of --output"}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			in.AWS, in.Output, in.outputFlag = awsOptions(c), c.String("output"), "--output"
			if c.IsSet("format") {
				if c.IsSet("output") && c.String("output") != c.String("format") {
					return usageErrorf("--format is the former name of --output: pass one")
				}
				in.Output, in.outputFlag = c.String("format"), "--format"
			}
			return CredentialsCommand(c.Context, in, deps)
		},
	}
}

// processCredentials is the credential_process output, Version 1.
type processCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// sessionCredentials is `-o json`.
type sessionCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	Account         string `json:"Account"`
	TaskPolicyArn   string `json:"TaskPolicyArn"`
	Region          string `json:"Region"`
}

// CredentialsCommand runs `rootctl credentials`.
func CredentialsCommand(ctx context.Context, in SessionInput, deps *Deps) error {
	flag := in.outputFlag
	if flag == "" {
		flag = "--output"
	}
	if err := checkOption(flag, in.Output, credentialFormats...); err != nil {
		return err
	}
	task, d, err := in.check()
	if err != nil {
		return err
	}
	run, sess, creds, err := assumeFor(ctx, deps, in, task, d)
	if err != nil {
		return err
	}
	defer run.close()
	// Fail closed: credentials that the log does not show handed out are
	// not handed out.
	if err := run.journal.Record(auditlog.Entry{Account: in.Account, Task: task.Name, Action: "credentials", Target: "format " + in.Output,
		Outcome: auditlog.Success, SessionKeyID: sess.AccessKeyID}); err != nil {
		return fmt.Errorf("the session's credentials are not printed, as the audit log could not record them: %w", err)
	}
	exp := sess.Expires.UTC().Format(time.RFC3339)
	out := deps.IO.Out
	switch in.Output {
	case "json":
		return printJSON(out, sessionCredentials{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, exp,
			in.Account, task.ARN(), run.env.AWS.Region})
	case "process":
		return json.NewEncoder(out).Encode(processCredentials{1, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, exp})
	}
	for _, kv := range sessionEnv(run, sess, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken) {
		k, v, _ := strings.Cut(kv, "=")
		printf(out, "export %s=%s\n", k, shellQuote(v))
	}
	return nil
}

// sessionEnv is the environment that hands a session to a program.
func sessionEnv(run *rootRun, sess *rootsession.Session, id, secret, token string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + id,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_SESSION_TOKEN=" + token,
		"AWS_REGION=" + run.env.AWS.Region,
		"AWS_DEFAULT_REGION=" + run.env.AWS.Region,
		"AWS_CREDENTIAL_EXPIRATION=" + sess.Expires.UTC().Format(time.RFC3339),
	}
	if run.env.AWS.BaseEndpoint != nil {
		env = append(env, "AWS_ENDPOINT_URL="+*run.env.AWS.BaseEndpoint)
	}
	return env
}

// credentialProcessMarker is set, to the process ID, in the environment of
// every process a rootctl that loads AWS credentials starts: the SDK runs a
// profile's credential_process with that environment. A rootctl that finds
// another process's ID there was started by rootctl to load credentials:
// when the profile rootctl loads runs "rootctl credentials" with the same
// profile (AWS_PROFILE=root-unlock, or a credential_process without
// --profile), each rootctl would start the next, thousands a minute.
const credentialProcessMarker = "ROOTCTL_CREDENTIALS_PARENT_PID"

// guardCredentialProcess wraps load (for real AWS, not --sim): it refuses
// to run inside a credential_process that a rootctl started, and marks the
// environment before the SDK can start one. exec removes the mark from the
// environment of the command it runs.
func guardCredentialProcess(deps *Deps, load func(context.Context, AWSOptions, *IOStreams) (*Env, error)) func(context.Context, AWSOptions, *IOStreams) (*Env, error) {
	return func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
		if opts.Sim == "" {
			self := strconv.Itoa(os.Getpid())
			if parent := deps.getenv(credentialProcessMarker); parent != "" && parent != self {
				return nil, usageErrorf("this rootctl was started by rootctl (process %s) to load its AWS credentials: the profile rootctl loads runs rootctl itself (credential_process), which would loop; run rootctl with --profile naming the profile with the management account's credentials, and pass that --profile in the credential_process line too", parent)
			}
			if err := os.Setenv(credentialProcessMarker, self); err != nil {
				return nil, err
			}
		}
		return load(ctx, opts, io)
	}
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkOption rejects a value not among the allowed ones.
func checkOption(flag, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return usageErrorf("%s %q: want one of %s", flag, v, strings.Join(allowed, ", "))
}
