package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/fixtures"
	"github.com/rootctl/rootctl/interrupt"
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

// DefaultRequestTimeout is --request-timeout's default: AWS answers in well
// under a second; 30 s is long enough for a slow network and short enough
// that a hung endpoint is noticed.
const DefaultRequestTimeout = 30 * time.Second

// maxRequestTimeout bounds --request-timeout: with the retries, a call may
// wait ten times as long.
const maxRequestTimeout = 10 * time.Minute

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
}

func (d *Deps) getenv(key string) string {
	if d.Getenv != nil {
		return d.Getenv(key)
	}
	return os.Getenv(key)
}

const defaultRegion = "us-east-1"

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
			Usage:  "give up on an attempt of an AWS call with no answer within `DURATION` (it is retried, at most 10 attempts in all); up to 10m",
			Action: func(_ *cli.Context, d time.Duration) error { return checkRequestTimeout(d) }},
	}
}

// checkRequestTimeout validates --request-timeout.
func checkRequestTimeout(d time.Duration) error {
	if d <= 0 || d > maxRequestTimeout {
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
	var load []func(*config.LoadOptions) error
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.EndpointURL != "" {
		load = append(load, config.WithBaseEndpoint(opts.EndpointURL))
	}
	load = append(load, config.WithAssumeRoleCredentialOptions(func(o *stscreds.AssumeRoleOptions) {
		o.TokenProvider = mfaPrompt(io, aws.ToString(o.SerialNumber))
	}))
	// The SDK logs to stderr on its own ("SDK 2026/… WARN falling back to
	// IMDSv1 …"): notes about its internals that the user can do nothing
	// with, around the error that rootctl reports anyway.
	load = append(load, config.WithLogger(logging.Nop{}))
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		return nil, usageErrorf("--profile %s: no such profile in the AWS config (list them with: aws configure list-profiles)", noProfile.Profile)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w (check --profile and ~/.aws/config)", err)
	}
	if err := checkCredentials(ctx, cfg); err != nil {
		return nil, err
	}
	if err := finishConfig(&cfg, opts); err != nil {
		return nil, err
	}
	return &Env{IO: io, AWS: cfg, Now: time.Now}, nil
}

// errNoCredentials is the first run's most likely failure, in one line.
var errNoCredentials = errors.New("no AWS credentials found: run aws sso login (or aws configure), pass --profile NAME, or try rootctl with --sim")

// credentialCheckTimeout bounds checkCredentials. Where nothing answers at
// the EC2 metadata address, the SDK's IMDS client gives up after a 250 ms
// connect timeout per attempt; on EC2 the answer takes milliseconds.
const credentialCheckTimeout = 5 * time.Second

// checkCredentials retrieves the credentials at once, so that their
// absence is one line naming the fix instead of an SDK error chain after
// the first call (which follows at once anyway). Three chains are checked:
// the SDK's last resort, the EC2 instance role (IMDS), which is what
// remains when no profile, environment variable or file names any
// credentials; AWS SSO, whose login expires; and a profile's
// credential_process, which may fail (and prints its own reason). The
// result is cached, so nothing is asked twice. IMDS is not turned off: on
// an EC2 instance whose role is in the management account it is the right
// source; the check gives it credentialCheckTimeout. A credential_process
// has the SDK's own limit (a minute): it may be waiting for a person.
// Chains that may ask for an MFA code (role_arn with mfa_serial) are left
// to the first call, as the SDK does.
func checkCredentials(ctx context.Context, cfg aws.Config) error {
	imds := aws.IsCredentialsProvider(cfg.Credentials, &ec2rolecreds.Provider{})
	sso := aws.IsCredentialsProvider(cfg.Credentials, &ssocreds.Provider{})
	process := aws.IsCredentialsProvider(cfg.Credentials, &processcreds.Provider{})
	if !imds && !sso && !process {
		return nil
	}
	checkCtx, cancel := ctx, context.CancelFunc(func() {})
	if !process {
		checkCtx, cancel = context.WithTimeout(ctx, credentialCheckTimeout)
	}
	defer cancel()
	_, err := cfg.Credentials.Retrieve(checkCtx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &exitError{code: ExitCancelled, err: errors.New("interrupted while loading the AWS credentials")}
	case imds:
		return errNoCredentials
	}
	profile := "default"
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok && sc.Profile != "" {
			profile = sc.Profile
		}
	}
	if process {
		return fmt.Errorf("the credential_process of profile %s failed: %w (its own message, if any, is above)", profile, err)
	}
	var expired *ssocreds.InvalidTokenError
	if errors.As(err, &expired) {
		return fmt.Errorf("the AWS SSO session of profile %s has expired or was never started: run aws sso login --profile %s", profile, profile)
	}
	return fmt.Errorf("loading the AWS SSO credentials of profile %s: %w (check its sso_account_id and sso_role_name, or run aws sso login --profile %s)", profile, err, profile)
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

// finishConfig applies what every rootctl run needs: a region (STS must be
// Regional for AssumeRoot), one HTTP client sized for fan-out, and a
// retryer without the client-side retry quota. The SDK's standard retryer
// keeps a budget of 500 tokens per client; shared by hundreds of goroutines
// under throttling it runs dry and fails calls with "retry quota exceeded"
// while AWS would have answered. Retries stay bounded by MaxAttempts and
// backoff, and --rate keeps rootctl under the quota to begin with.
//
// Every attempt is bounded by opts.RequestTimeout (connect, TLS handshake
// (never over the SDK's 10 s), response headers), so that a hung endpoint cannot hold a call (and so a
// run) forever, not even a change call that Ctrl-C lets finish: an attempt
// that times out is retried like any transport error, within MaxAttempts.
// Every call is tracked while in flight, for the second Ctrl-C to name.
func finishConfig(cfg *aws.Config, opts AWSOptions) error {
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Region == "aws-global" {
		return usageErrorf("--region aws-global names the global STS endpoint, which refuses AssumeRoot; pass a Regional name such as us-east-1")
	}
	timeout := opts.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	if err := checkRequestTimeout(timeout); err != nil {
		return err
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = timeout
	}).WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 1024
		t.TLSHandshakeTimeout = min(timeout, awshttp.DefaultHTTPTransportTLSHandleshakeTimeout)
		t.ResponseHeaderTimeout = timeout
	})
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), interrupt.Track, timeoutErrors(timeout))
	cfg.APIOptions = append(cfg.APIOptions, signGlobalServices) // IAM and Organizations sign for their global Region
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 20 * time.Second
			o.RateLimiter = ratelimit.None
		})
	}
	return nil
}

// requestTimeoutError is a call whose every attempt went unanswered within
// --request-timeout.
type requestTimeoutError struct {
	timeout  time.Duration
	attempts int
	err      error
}

func (e *requestTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %v (--request-timeout), %d attempts; the endpoint or the network is slow or down: try again later, or raise --request-timeout",
		e.timeout, e.attempts)
}

func (e *requestTimeoutError) Unwrap() error { return e.err }

// timeoutErrors is an APIOptions entry that words a call that failed
// because its attempts timed out as such (the SDK's own error is a long
// chain ending in "net/http: timeout awaiting response headers").
func timeoutErrors(timeout time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("rootctl.RequestTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				// A timeout with the call's own context still live is an
				// attempt's (net/http's header timeout also matches
				// context.DeadlineExceeded, so that cannot tell them apart).
				var te interface{ Timeout() bool }
				if err != nil && errors.As(err, &te) && te.Timeout() && ctx.Err() == nil {
					attempts := 1
					if r, ok := retry.GetAttemptResults(md); ok {
						attempts = len(r.Results)
					}
					err = &requestTimeoutError{timeout: timeout, attempts: attempts, err: err}
				}
				return out, md, err
			}), middleware.After)
	}
}
