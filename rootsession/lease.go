package rootsession

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rootctl/rootctl/awserr"
)

// RenewBefore is how much of a session must be left for a lease to start
// another step with it. A step is a handful of calls, seconds even under
// throttling; two minutes leave room for retries and clock skew.
const RenewBefore = 2 * time.Minute

// Lease keeps one account's root session for one task valid across a job
// of several steps: the first step assumes it, later steps reuse it, and a
// step that could outlive it gets a new one first. It never hands a session
// to another task.
type Lease struct {
	assumer *Assumer
	account string
	task    Task

	mu      sync.Mutex
	sess    *Session
	assumed int
}

// Lease returns a lease for account and task; it assumes nothing yet.
func (a *Assumer) Lease(account string, task Task) *Lease {
	return &Lease{assumer: a, account: account, task: task}
}

// Session returns a session with at least RenewBefore left, assuming one
// when there is none or the current one is about to expire.
func (l *Lease) Session(ctx context.Context) (*Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess != nil && l.sess.Expires.Sub(l.assumer.Clock()) >= RenewBefore {
		return l.sess, nil
	}
	return l.renewLocked(ctx)
}

func (l *Lease) renewLocked(ctx context.Context) (*Session, error) {
	s, err := l.assumer.Assume(ctx, l.account, l.task, 0)
	if err != nil {
		return nil, err
	}
	l.sess = s
	l.assumed++
	return s, nil
}

// Do runs step with a valid session's configuration. Should AWS still
// answer ExpiredToken (a clock ahead of ours), it assumes once more and
// runs step again, once.
func (l *Lease) Do(ctx context.Context, step func(cfg aws.Config) error) error {
	s, err := l.Session(ctx)
	if err != nil {
		return err
	}
	err = step(s.Config)
	if code := awserr.Code(err); code != "ExpiredToken" && code != "ExpiredTokenException" {
		return err
	}
	l.mu.Lock()
	s, err = l.renewLocked(ctx)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return step(s.Config)
}

// KeyID is the access key ID of the current session ("" before the first
// step): what names the session in CloudTrail. It never assumes.
func (l *Lease) KeyID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		return ""
	}
	return l.sess.AccessKeyID
}

// Assumed is how many sessions the lease has asked for.
func (l *Lease) Assumed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.assumed
}

// For returns a lease of the same account for another task: a second
// root session, assumed when first used. A command that needs two tasks in
// one account (locks: S3 and SQS) holds one lease for each.
func (l *Lease) For(task Task) *Lease { return l.assumer.Lease(l.account, task) }
