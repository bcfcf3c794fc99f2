// Package provision creates member accounts and waits for them: the
// account creation request (CreateAccount, DescribeCreateAccountStatus),
// the move into an OU, the wait until a new account is ACTIVE, and the
// CreateAccountResult event that AWS Organizations emits when a creation
// ends; and the post-provisioning check of a new account (Checker): no root
// credentials, or, when asked, none left.
package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootctl/rootctl/orgscan"
)

// Creation states, as DescribeCreateAccountStatus reports them.
const (
	InProgress = "IN_PROGRESS"
	Succeeded  = "SUCCEEDED"
	Failed     = "FAILED"
)

// ErrTimeout is the cause of a context that ran out of the time allowed
// for a wait; see WithTimeout.
var ErrTimeout = errors.New("timed out")

// ErrNotActive is returned by WaitActive for an account that is suspended,
// closing or closed: it will never become ACTIVE.
var ErrNotActive = errors.New("account will not become ACTIVE")

// Polling starts fast, for accounts that are nearly ready, and backs off to
// a pace that costs nothing against the Organizations quotas.
const (
	firstPoll = 250 * time.Millisecond
	maxPoll   = 5 * time.Second
)

// Tag is a tag to put on a new account.
type Tag struct{ Key, Value string }

// Request is a new member account.
type Request struct {
	Name  string
	Email string
	Tags  []Tag
}

// Creation is the state of one CreateAccount request.
type Creation struct {
	RequestID     string `json:"request_id"`
	State         string `json:"state"` // IN_PROGRESS, SUCCEEDED or FAILED
	AccountID     string `json:"account_id,omitempty"`
	FailureReason string `json:"failure_reason,omitempty"`
}

func creationOf(s *orgtypes.CreateAccountStatus) Creation {
	return Creation{RequestID: aws.ToString(s.Id), State: string(s.State), AccountID: aws.ToString(s.AccountId), FailureReason: string(s.FailureReason)}
}

// WithTimeout returns a context that ends after d with ErrTimeout as its
// cause, so that a wait can tell its own deadline from an interruption.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, ErrTimeout)
}

// Create sends CreateAccount. The account is created in the organization's
// root, asynchronously: follow it with WaitCreated.
func Create(ctx context.Context, cfg aws.Config, req Request) (Creation, error) {
	c := organizations.NewFromConfig(cfg)
	in := &organizations.CreateAccountInput{AccountName: aws.String(req.Name), Email: aws.String(req.Email)}
	for _, t := range req.Tags {
		in.Tags = append(in.Tags, orgtypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	out, err := c.CreateAccount(ctx, in)
	if err != nil {
		return Creation{}, fmt.Errorf("CreateAccount: %w", err)
	}
	return creationOf(out.CreateAccountStatus), nil
}

// WaitCreated polls DescribeCreateAccountStatus until the request has
// succeeded or failed, telling onPoll of every answer.
func WaitCreated(ctx context.Context, cfg aws.Config, requestID string, onPoll func(Creation)) (Creation, error) {
	c := organizations.NewFromConfig(cfg)
	var last Creation
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		out, err := c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String(requestID)})
		if err != nil {
			return false, fmt.Errorf("DescribeCreateAccountStatus: %w", err)
		}
		last = creationOf(out.CreateAccountStatus)
		if onPoll != nil {
			onPoll(last)
		}
		return last.State != InProgress, nil
	})
	return last, err
}

// WaitActive polls DescribeAccount until the account is ACTIVE, telling
// onPoll of every answer. An account that is suspended or closing ends the
// wait with ErrNotActive; one that is still pending activation keeps it
// going until ctx ends.
func WaitActive(ctx context.Context, l *orgscan.Lister, id string, onPoll func(orgscan.Target)) (orgscan.Target, error) {
	var last orgscan.Target
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		t, err := l.Describe(ctx, id)
		if err != nil {
			return false, err
		}
		last = t
		if onPoll != nil {
			onPoll(t)
		}
		switch orgtypes.AccountState(t.State) {
		case orgtypes.AccountStateActive:
			return true, nil
		case orgtypes.AccountStatePendingActivation:
			return false, nil
		}
		return false, fmt.Errorf("account %s is %s: %w", id, t.State, ErrNotActive)
	})
	return last, err
}

// Move moves an account from wherever it is to the OU or root dest; it
// reports false when the account is there already. before, when not nil,
// is called right before MoveAccount is sent, with the parent the account
// leaves; if it fails, MoveAccount is not sent and its error is returned.
func Move(ctx context.Context, cfg aws.Config, accountID, dest string, before func(from string) error) (bool, error) {
	c := organizations.NewFromConfig(cfg)
	// An account has one parent, but ListParents pages like every
	// Organizations list and may answer an empty page with a NextToken.
	var parents []string
	p := organizations.NewListParentsPaginator(c, &organizations.ListParentsInput{ChildId: aws.String(accountID)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("ListParents %s: %w", accountID, err)
		}
		for _, parent := range out.Parents {
			parents = append(parents, aws.ToString(parent.Id))
		}
	}
	if len(parents) != 1 {
		return false, fmt.Errorf("ListParents %s: the account has %d parents, want 1", accountID, len(parents))
	}
	from := parents[0]
	if from == dest {
		return false, nil
	}
	if before != nil {
		if err := before(from); err != nil {
			return false, fmt.Errorf("MoveAccount %s not sent: %w", accountID, err)
		}
	}
	_, err := c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(accountID),
		SourceParentId: aws.String(from), DestinationParentId: aws.String(dest)})
	if err != nil {
		return false, fmt.Errorf("MoveAccount %s from %s to %s: %w", accountID, from, dest, err)
	}
	return true, nil
}

// poll calls check until it is done or fails, backing off between calls.
// When ctx ends first, it returns the context's cause: ErrTimeout for a
// context from WithTimeout, context.Canceled for an interruption.
func poll(ctx context.Context, check func(context.Context) (bool, error)) error {
	wait := firstPoll
	for {
		done, err := check(ctx)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil || done {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, maxPoll)
	}
}
