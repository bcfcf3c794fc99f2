package rootsession

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/interrupt"
)

// MaxDuration is the longest root session AWS issues: the 15-minute window.
const MaxDuration = 900 * time.Second

// Session is a root session: one member account, one task, until Expires.
type Session struct {
	Account     string
	Task        Task
	AccessKeyID string // not secret: it names the session in CloudTrail
	Expires     time.Time
	RequestID   string // of the AssumeRoot call, for the audit log
	// Config is the base configuration with the session's credentials.
	Config aws.Config
}

// Assumer issues root sessions from one base configuration (management
// account or IAM delegated administrator credentials).
type Assumer struct {
	base aws.Config
	sts  *sts.Client
	// Clock tells the time that session expiries are measured against
	// (time.Now unless set; the simulator's clock in tests).
	Clock func() time.Time
	// BeforeAssume, when set, is called right before every AssumeRoot call,
	// to record it ahead. If it fails, AssumeRoot is not called: Assume
	// returns an error wrapping ErrNotRecorded and BeforeAssume's.
	BeforeAssume func(account string, task Task) error
	// OnAssume, when set, is told of every AssumeRoot call's outcome
	// (session or error), so each elevation can be recorded. If it fails
	// for a session, the session is dropped: Assume returns an error
	// wrapping ErrNotRecorded and OnAssume's, and no one gets to use it.
	OnAssume func(account string, task Task, s *Session, err error) error
	// Prerequisites, when set, lists what stops every AssumeRoot for task
	// in the organization (orgsetup.Prerequisites reads it). It is asked
	// when AssumeRoot is refused with AccessDenied: a refusal with a
	// missing prerequisite is the organization's (OrgError) and halts the
	// Assumer. An error, or nothing missing, leaves the refusal to its one
	// account.
	Prerequisites func(ctx context.Context, task Task) ([]Fix, error)

	haltMu sync.Mutex
	halt   *OrgError
}

// ErrNotRecorded marks a call that was not made, or a session that was
// not used, because its record could not be written.
var ErrNotRecorded = errors.New("its record could not be written")

// NewAssumer returns an Assumer that calls the Regional STS endpoint of
// base's region, the only kind that accepts AssumeRoot.
func NewAssumer(base aws.Config) *Assumer {
	return &Assumer{base: base, sts: sts.NewFromConfig(base), Clock: time.Now}
}

// Assume asks for a root session in account for task. A zero duration asks
// for the full 15 minutes. A refusal that is the organization's (see
// OrgError) halts the Assumer: from then on every account gets that error
// without a call to AWS.
func (a *Assumer) Assume(ctx context.Context, account string, task Task, duration time.Duration) (*Session, error) {
	if h := a.Halted(); h != nil {
		return nil, &OrgError{Missing: h.Missing}
	}
	if !awserr.ValidAccountID(account) {
		return nil, fmt.Errorf("account ID %q: want 12 digits", account)
	}
	if duration < 0 || duration > MaxDuration {
		return nil, fmt.Errorf("session duration %v: want at most %v (AssumeRoot's limit)", duration, MaxDuration)
	}
	in := &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account),
		TaskPolicyArn:   &ststypes.PolicyDescriptorType{Arn: aws.String(task.ARN())},
	}
	if duration > 0 {
		in.DurationSeconds = aws.Int32(int32(duration / time.Second))
	}
	if err := ctx.Err(); err != nil { // interrupted: nothing new is sent
		return nil, fmt.Errorf("AssumeRoot %s not called: %w", task.Name, err)
	}
	if a.BeforeAssume != nil {
		if err := a.BeforeAssume(account, task); err != nil {
			return nil, fmt.Errorf("AssumeRoot %s not called, as %w: %w", task.Name, ErrNotRecorded, err)
		}
	}
	// Once recorded as started, the call is let finish even if the run is
	// interrupted meanwhile (each attempt is bounded by the request
	// timeout), so that its outcome is recorded, not "context canceled".
	out, err := a.sts.AssumeRoot(context.WithoutCancel(ctx), in)
	if err != nil {
		err = a.classify(ctx, &AssumeError{Account: account, Task: task, Err: err})
		if oe, ok := err.(*OrgError); ok {
			err = a.stop(oe)
		}
		if a.OnAssume != nil {
			a.OnAssume(account, task, nil, err) // the failure stands, recorded or not
		}
		return nil, err
	}
	c := out.Credentials
	cfg := a.base.Copy()
	// The session's calls are tracked as made in account, so that an
	// interrupted run can say where its calls in flight were.
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), interrupt.Account(account))
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	s := &Session{
		Account: account, Task: task, AccessKeyID: aws.ToString(c.AccessKeyId),
		Expires: aws.ToTime(c.Expiration), Config: cfg, RequestID: awserr.ResultRequestID(out.ResultMetadata),
	}
	if a.OnAssume != nil {
		if err := a.OnAssume(account, task, s, nil); err != nil {
			return nil, fmt.Errorf("the root session AssumeRoot %s issued is not used, as %w: %w", task.Name, ErrNotRecorded, err)
		}
	}
	return s, nil
}

// Credentials returns the session's credentials. They are secret: only the
// credentials and exec commands hand them out, because the user asked.
func (s *Session) Credentials(ctx context.Context) (aws.Credentials, error) {
	return s.Config.Credentials.Retrieve(ctx)
}

// AssumeError is a refused or failed AssumeRoot, with the fix when one is
// known.
type AssumeError struct {
	Account string
	Task    Task
	Err     error
}

func (e *AssumeError) Error() string {
	msg := "AssumeRoot " + e.Task.Name + ": " + awserr.Describe(e.Err)
	if h := e.Hint(); h != "" {
		msg += " (" + h + ")"
	}
	return msg
}

func (e *AssumeError) Unwrap() error { return e.Err }

// Code is the AWS error code, or "" when the call never got an answer.
func (e *AssumeError) Code() string { return awserr.Code(e.Err) }

// Hint names what fixes the refusal. It goes by the error code only: AWS's
// wording is not an interface (an organization-wide cause is named by
// OrgError, from prerequisites rootctl reads itself).
func (e *AssumeError) Hint() string {
	switch e.Code() {
	case "AccessDenied", "AccessDeniedException":
		return "the caller must be the management account or the IAM delegated administrator and allowed sts:AssumeRoot, " +
			"no SCP may deny it, and the target must be an ACTIVE member account; check: rootctl status"
	case "InvalidAction":
		return "AssumeRoot needs a Regional STS endpoint; pass --region"
	case "ExpiredToken", "ExpiredTokenException":
		return "the caller's own credentials expired; refresh them (aws sso login, or a new session)"
	}
	return ""
}
