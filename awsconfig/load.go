package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// LoadOptions choose what Load reads.
type LoadOptions struct {
	Profile     string // "" for AWS_PROFILE or default
	Region      string // "" for the profile's or the environment's
	EndpointURL string // "" for AWS's endpoints (or AWS_ENDPOINT_URL)
	// MFAToken returns the function that asks for the code of the MFA
	// device serial, for profiles with mfa_serial.
	MFAToken func(serial string) func() (string, error)
}

// ConfigError is an AWS configuration (files, environment) that could not
// be read.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "loading the AWS configuration: " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrNoCredentials is the first run's most likely failure, in one line.
var ErrNoCredentials = errors.New("no AWS credentials found: run aws sso login (or aws configure), pass --profile NAME, or try rootctl with --sim")

// ErrInterrupted is a credential check cut short by its context.
var ErrInterrupted = errors.New("interrupted while loading the AWS credentials")

// CredentialCheckTimeout bounds CheckCredentials. Where nothing answers at
// the EC2 metadata address, the SDK's IMDS client gives up after a 250 ms
// connect timeout per attempt; on EC2 the answer takes milliseconds.
const CredentialCheckTimeout = 5 * time.Second

// Load reads the SDK's default chain (profiles, SSO, environment,
// AWS_ENDPOINT_URL, mfa_serial with opts.MFAToken) and checks the
// credentials at once (CheckCredentials). The SDK's own log is silenced:
// notes about its internals that the user can do nothing with
// ("falling back to IMDSv1"), around the error rootctl reports anyway. A
// configuration that cannot be read is a *ConfigError (a profile that does
// not exist wraps config.SharedConfigProfileNotExistError). The result
// still needs Finish.
func Load(ctx context.Context, opts LoadOptions) (aws.Config, error) {
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
	if opts.MFAToken != nil {
		load = append(load, config.WithAssumeRoleCredentialOptions(func(o *stscreds.AssumeRoleOptions) {
			o.TokenProvider = opts.MFAToken(aws.ToString(o.SerialNumber))
		}))
	}
	load = append(load, config.WithLogger(logging.Nop{}))
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, &ConfigError{Err: err}
	}
	if err := CheckCredentials(ctx, cfg); err != nil {
		return aws.Config{}, err
	}
	return cfg, nil
}

// CheckCredentials retrieves the credentials at once, so that their
// absence is one line naming the fix instead of an SDK error chain after
// the first call (which follows at once anyway). Three chains are checked:
// the SDK's last resort, the EC2 instance role (IMDS), which is what
// remains when no profile, environment variable or file names any
// credentials; AWS SSO, whose login expires; and a profile's
// credential_process, which may fail (and prints its own reason). The
// result is cached, so nothing is asked twice. IMDS is not turned off: on
// an EC2 instance whose role is in the management account it is the right
// source; the check gives it CredentialCheckTimeout. A credential_process
// has the SDK's own limit (a minute): it may be waiting for a person.
// Chains that may ask for an MFA code (role_arn with mfa_serial) are left
// to the first call, as the SDK does. A check cut short by ctx is
// ErrInterrupted.
func CheckCredentials(ctx context.Context, cfg aws.Config) error {
	imds := aws.IsCredentialsProvider(cfg.Credentials, &ec2rolecreds.Provider{})
	sso := aws.IsCredentialsProvider(cfg.Credentials, &ssocreds.Provider{})
	process := aws.IsCredentialsProvider(cfg.Credentials, &processcreds.Provider{})
	if !imds && !sso && !process {
		return nil
	}
	checkCtx, cancel := ctx, context.CancelFunc(func() {})
	if !process {
		checkCtx, cancel = context.WithTimeout(ctx, CredentialCheckTimeout)
	}
	defer cancel()
	_, err := cfg.Credentials.Retrieve(checkCtx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ErrInterrupted
	case imds:
		return ErrNoCredentials
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

// CallerARN is the ARN of the identity cfg's credentials stand for
// (sts:GetCallerIdentity): what names the caller in the audit log.
func CallerARN(ctx context.Context, cfg aws.Config) (string, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(id.Arn), nil
}
