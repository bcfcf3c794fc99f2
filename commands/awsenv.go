package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/fixtures"
)

// AWSOptions are the values of the flags every AWS command accepts.
type AWSOptions struct {
	Profile     string
	Region      string
	EndpointURL string
	Sim         string // "" for real AWS; else an embedded org name or a fixture file
	// RequestTimeout bounds each attempt of an AWS call: connecting, the
	// TLS handshake and the wait for the response headers each get at most
	// this long. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// DefaultRequestTimeout is --request-timeout's default.
const DefaultRequestTimeout = awsconfig.DefaultRequestTimeout

// Env is what an AWS command works with, built once per run: the streams,
// one base AWS configuration (shared HTTP client and retryer), and the
// clock. Sim is set when the run uses the in-process simulator.
type Env struct {
	IO  *IOStreams
	AWS aws.Config
	Now func() time.Time
	Sim *fixtures.Server
}

// Close stops the in-process simulator, if any.
func (e *Env) Close() {
	if e.Sim != nil {
		e.Sim.Close()
	}
}

// Deps are what the command line gets from outside: its streams, and how
// to reach AWS. Tests replace LoadAWS to point commands at their emulator.
type Deps struct {
	IO      *IOStreams
	LoadAWS func(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error)
	// StateDir holds the audit log and policy backups; empty means the
	// default ($XDG_STATE_HOME/rootctl or ~/.local/state/rootctl).
	StateDir string
	// auditFile, in tests, stands in for the opened audit log file (a full
	// disk, say).
	auditFile auditFileWrapper
	// Getenv reads the process environment; nil is os.Getenv.
	Getenv func(string) string
	// Environ lists the process environment that the programs rootctl
	// starts (exec) inherit; nil is os.Environ.
	Environ func() []string
}

func (d *Deps) getenv(key string) string {
	if d.Getenv != nil {
		return d.Getenv(key)
	}
	return os.Getenv(key)
}

func (d *Deps) environ() []string {
	if d.Environ != nil {
		return d.Environ()
	}
	return os.Environ()
}

const defaultRegion = awsconfig.DefaultRegion

// simFlag is --sim[=FILE]: a flag that may stand alone (meaning the demo
// organization) or take a value. It reports itself as boolean to the flag
// package so that "--sim" needs no argument.
type simFlag struct {
	value string
	bare  bool // given as --sim, without a value
}

func (f *simFlag) String() string { return f.value }
func (f *simFlag) Set(v string) error {
	f.bare = v == "true"
	if v == "true" {
		v = "demo"
	}
	if v == "false" {
		v = ""
	}
	f.value = v
	return nil
}
func (f *simFlag) IsBoolFlag() bool { return true }

// awsFlags are the flags shared by every AWS command, accepted after the
// command name.
func awsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "profile", Category: "AWS", Usage: "use the named `PROFILE` of the AWS config (default: AWS_PROFILE or default)"},
		&cli.StringFlag{Name: "region", Category: "AWS", Usage: "AWS `REGION` (default: from the AWS config, else us-east-1); AssumeRoot always uses its Regional STS endpoint"},
		&cli.StringFlag{Name: "endpoint-url", Category: "AWS", Usage: "send every AWS call to `URL`, like the AWS CLI's --endpoint-url (AWS_ENDPOINT_URL works too)"},
		&cli.GenericFlag{Name: "sim", Category: "AWS", Value: &simFlag{}, Usage: "run against the simulated organization started in-process: --sim for the demo org, --sim=FILE for a fixture file (or --sim=fresh, --sim=synthetic:N)"},
		&cli.DurationFlag{Name: "request-timeout", Category: "AWS", Value: DefaultRequestTimeout,
			Usage:  "give up on an attempt of an AWS call with no answer within `DURATION`, or whose answer stops coming for as long (it is retried, at most 10 attempts in all); up to 10m",
			Action: func(_ *cli.Context, d time.Duration) error { return checkRequestTimeout(d) }},
	}
}

// checkRequestTimeout validates --request-timeout.
func checkRequestTimeout(d time.Duration) error {
	if d <= 0 || d > awsconfig.MaxRequestTimeout {
		return usageErrorf("--request-timeout %v: want a duration above 0 and at most 10m, such as 30s or 2m", d)
	}
	return nil
}

func awsOptions(c *cli.Context) AWSOptions {
	o := AWSOptions{Profile: c.String("profile"), Region: c.String("region"), EndpointURL: c.String("endpoint-url"),
		RequestTimeout: c.Duration("request-timeout")}
	if f, ok := c.Generic("sim").(*simFlag); ok {
		o.Sim = f.value
	}
	return o
}

// loadAWS builds the run's AWS configuration: the in-process simulator for
// --sim, otherwise the SDK's default chain (profiles, SSO, environment,
// AWS_ENDPOINT_URL, mfa_serial with a prompt on stdin).
func loadAWS(ctx context.Context, opts AWSOptions, io *IOStreams) (*Env, error) {
	if opts.Sim != "" {
		return startSim(opts, io)
	}
	if u, err := url.Parse(opts.EndpointURL); opts.EndpointURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return nil, usageErrorf("--endpoint-url %q: want an http or https URL, such as https://sts.eu-west-1.amazonaws.com", opts.EndpointURL)
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.LoadOptions{Profile: opts.Profile, Region: opts.Region, EndpointURL: opts.EndpointURL,
		MFAToken: func(serial string) func() (string, error) { return mfaPrompt(io, serial) }})
	var noProfile config.SharedConfigProfileNotExistError
	var configErr *awsconfig.ConfigError
	switch {
	case errors.As(err, &noProfile):
		return nil, usageErrorf("--profile %s: no such profile in the AWS config (list them with: aws configure list-profiles)", noProfile.Profile)
	case errors.As(err, &configErr):
		return nil, fmt.Errorf("%w (check --profile and ~/.aws/config)", err)
	case errors.Is(err, awsconfig.ErrInterrupted):
		return nil, &exitError{code: ExitCancelled, err: err}
	case err != nil:
		return nil, err
	}
	if err := finishConfig(&cfg, opts); err != nil {
		return nil, err
	}
	return &Env{IO: io, AWS: cfg, Now: time.Now}, nil
}

// mfaPrompt asks for the code of an mfa_serial profile on stderr and reads
// it from stdin.
func mfaPrompt(io *IOStreams, serial string) func() (string, error) {
	return func() (string, error) {
		printf(io.ErrOut, "Enter MFA code for %s: ", serial)
		code, err := io.ReadLine()
		if err != nil {
			return "", fmt.Errorf("reading the MFA code from stdin: %w", err)
		}
		return strings.TrimSpace(code), nil
	}
}

func startSim(opts AWSOptions, io *IOStreams) (*Env, error) {
	org, err := fixtures.Load(opts.Sim)
	if err != nil {
		return nil, usageErrorf("--sim: %v", err)
	}
	// New accounts take a few seconds, as on AWS (where it is minutes), so
	// that account create shows its progress.
	srv := fixtures.New(org, fixtures.Options{CreateAccountDelay: 3 * time.Second, ActivationDelay: 2 * time.Second})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	creds := srv.ManagementCredentials()
	region := opts.Region
	if region == "" {
		region = defaultRegion
	}
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		BaseEndpoint: aws.String(srv.URL()),
	}
	if err := finishConfig(&cfg, opts); err != nil {
		srv.Close()
		return nil, err
	}
	return &Env{IO: io, AWS: cfg, Now: srv.Now, Sim: srv}, nil
}

// finishConfig checks the region and --request-timeout, then applies what
// every rootctl run needs (awsconfig.Finish).
func finishConfig(cfg *aws.Config, opts AWSOptions) error {
	if cfg.Region == awsconfig.GlobalRegion {
		return usageErrorf("--region aws-global names the global STS endpoint, which refuses AssumeRoot; pass a Regional name such as us-east-1")
	}
	timeout := opts.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	if err := checkRequestTimeout(timeout); err != nil {
		return err
	}
	awsconfig.Finish(cfg, timeout)
	return nil
}
