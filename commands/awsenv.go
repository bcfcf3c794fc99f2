package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/fixtures"
)

// AWSOptions are the values of the flags every AWS command accepts.
type AWSOptions struct {
	Profile     string
	Region      string
	EndpointURL string
	Sim         string // "" for real AWS; else an embedded org name or a fixture file
}

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
	}
}

func awsOptions(c *cli.Context) AWSOptions {
	o := AWSOptions{Profile: c.String("profile"), Region: c.String("region"), EndpointURL: c.String("endpoint-url")}
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
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		return nil, usageErrorf("--profile %s: no such profile in the AWS config (list them with: aws configure list-profiles)", noProfile.Profile)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w (check --profile and ~/.aws/config)", err)
	}
	if err := finishConfig(&cfg); err != nil {
		return nil, err
	}
	return &Env{IO: io, AWS: cfg, Now: time.Now}, nil
}

// mfaPrompt asks for the code of an mfa_serial profile on stderr and reads
// it from stdin.
func mfaPrompt(io *IOStreams, serial string) func() (string, error) {
	return func() (string, error) {
		fmt.Fprintf(io.ErrOut, "Enter MFA code for %s: ", serial)
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
	if err := finishConfig(&cfg); err != nil {
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
func finishConfig(cfg *aws.Config) error {
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Region == "aws-global" {
		return usageErrorf("--region aws-global names the global STS endpoint, which refuses AssumeRoot; pass a Regional name such as us-east-1")
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 1024
	})
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 20 * time.Second
			o.RateLimiter = ratelimit.None
		})
	}
	return nil
}
