package unlock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// State is a resource and its policy as found.
type State struct {
	Resource Resource
	Policy   *string // nil: no policy
	Analysis Analysis
}

// Inspect locates the bucket or queue and reads and analyses its policy
// with the lease's session.
func Inspect(ctx context.Context, lease *rootsession.Lease, service, account, name string) (*State, error) {
	var st State
	err := lease.Do(ctx, func(cfg aws.Config) error {
		r, err := Locate(ctx, cfg, service, account, name)
		if err != nil {
			return err
		}
		st.Resource = r
		st.Policy, err = Policy(ctx, cfg, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.Policy != nil {
		// A policy AWS holds that we cannot parse is analysed as no lockout
		// found; the caller shows it and needs --force.
		st.Analysis, _ = Analyze(service, st.Resource.ARN(), *st.Policy)
	}
	return &st, nil
}

// Result is what Apply did.
type Result struct {
	Backup    string  `json:"backup"` // path of the backup file
	RequestID string  `json:"request_id,omitempty"`
	After     *string `json:"-"` // the policy read back
	Verified  bool    `json:"verified"`
}

// ErrChanged is returned when the policy changed between Inspect and Apply.
var ErrChanged = errors.New("the policy changed since it was shown")

// Hooks are told of the change Apply makes.
type Hooks struct {
	// Before is called right before the change's call is sent, when the
	// lease's current session (KeyID) is the one that sends it, with the
	// backup's path. If it fails, nothing is sent: Apply returns an error
	// wrapping rootsession.ErrNotRecorded.
	Before func(backup string) error
	// After is told of the change's outcome as soon as its answer is known,
	// before the read-back: res holds the backup and the request ID, err
	// the call's error. A call AWS refuses because its session expired
	// (ExpiredToken) is sent again with a new session: Before and After
	// are then called once more.
	After func(res Result, err error)
}

// Apply replaces st's policy with next (nil: deletes it). In order: it
// reads the policy again and stops if it is no longer the one shown; writes
// the backup and syncs it; makes the change, telling hooks right before
// and right after; and reads the policy back to verify it. The backup is
// written even when the change then fails, and its path is in the result
// whenever it exists. Once ctx is cancelled no further step starts (the
// error wraps context.Canceled and nothing was changed), but a call once
// sent is let finish, and so is the read-back of a change that was sent.
func Apply(ctx context.Context, lease *rootsession.Lease, st *State, next *string, backupDir, reason string, now time.Time, hooks Hooks) (Result, error) {
	parent := ctx
	interrupted := func() error {
		if err := parent.Err(); err != nil {
			return fmt.Errorf("interrupted; nothing was changed: %w", err)
		}
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var res Result
	err := lease.Do(ctx, func(cfg aws.Config) error {
		cur, err := Policy(ctx, cfg, st.Resource)
		if err != nil {
			return err
		}
		if !samePolicy(cur, st.Policy) {
			return fmt.Errorf("%s: %w; nothing was changed (run the command again to see the new one)", st.Resource, ErrChanged)
		}
		return nil
	})
	if err == nil {
		err = interrupted()
	}
	if err != nil {
		return res, err
	}
	res.Backup, err = WriteBackup(backupDir, Backup{Resource: st.Resource, Policy: st.Policy, TakenAt: now, Reason: reason})
	if err != nil {
		return res, fmt.Errorf("%w; nothing was changed", err)
	}
	if err := interrupted(); err != nil {
		return res, err
	}
	err = lease.Do(ctx, func(cfg aws.Config) error {
		if hooks.Before != nil {
			if err := hooks.Before(res.Backup); err != nil {
				return fmt.Errorf("not sent, as %w: %w", rootsession.ErrNotRecorded, err)
			}
		}
		var err error
		res.RequestID, err = SetPolicy(ctx, cfg, st.Resource, next)
		if hooks.After != nil {
			hooks.After(res, err)
		}
		return err
	})
	if errors.Is(err, rootsession.ErrNotRecorded) {
		return res, fmt.Errorf("%w; nothing was changed", err)
	}
	if err != nil {
		return res, err
	}
	err = lease.Do(ctx, func(cfg aws.Config) error {
		var err error
		res.After, err = Policy(ctx, cfg, st.Resource)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("the change was made but reading it back failed: %w", err)
	}
	res.Verified = samePolicy(res.After, next)
	if !res.Verified {
		return res, fmt.Errorf("the change was made but the policy read back differs from the one sent")
	}
	return res, nil
}

// samePolicy compares two policies as JSON documents (AWS may reformat).
func samePolicy(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal([]byte(*a), &x) != nil || json.Unmarshal([]byte(*b), &y) != nil {
		return *a == *b
	}
	return reflect.DeepEqual(x, y)
}

// Recorder writes the audit log ahead of a change (orgrun.Journal is one).
type Recorder interface {
	RecordStarted(auditlog.Entry) error
	Record(auditlog.Entry) error
}

// Recorded are the Hooks that record Apply's change in the audit log:
// ahead (started, naming the backup and the session that sends it), and
// its outcome as soon as AWS answers, before the read-back.
func Recorded(rec Recorder, lease *rootsession.Lease, st *State, next *string) Hooks {
	entry := func(backup string) auditlog.Entry {
		return auditlog.Entry{Account: st.Resource.Account, Task: Task(st.Resource.Service).Name, Action: SetPolicyAction(st.Resource.Service, next),
			Target: st.Resource.ARN(), Backup: backup, SessionKeyID: lease.KeyID()}
	}
	return Hooks{
		Before: func(backup string) error { return rec.RecordStarted(entry(backup)) },
		After: func(res Result, err error) {
			e := entry(res.Backup)
			e.Outcome, e.RequestID = auditlog.Success, res.RequestID
			if err != nil {
				e.Outcome, e.Error = auditlog.Failed, rootsession.Describe(err)
				if e.RequestID == "" {
					e.RequestID = awserr.RequestID(err)
				}
			}
			rec.Record(e)
		},
	}
}

// SetPolicyAction names the AWS action that writes next (nil: deletes the
// policy) on a resource of service, for the audit log.
func SetPolicyAction(service string, next *string) string {
	switch {
	case service == SQS:
		return "sqs:SetQueueAttributes"
	case next == nil:
		return "s3:DeleteBucketPolicy"
	}
	return "s3:PutBucketPolicy"
}
