package rootcreds

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rootctl/rootctl/attempts"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// Kinds of root credentials, as items of a deletion plan.
const (
	KindAccessKey          = "access_key"
	KindSigningCertificate = "signing_certificate"
	KindPassword           = "password"
	KindMFADevice          = "mfa_device"
)

// Kinds chooses which kinds of credentials to delete.
type Kinds struct {
	Password, AccessKeys, Certificates, MFA bool
}

// AllKinds chooses every kind.
func AllKinds() Kinds { return Kinds{true, true, true, true} }

// Any reports whether any kind is chosen.
func (k Kinds) Any() bool { return k.Password || k.AccessKeys || k.Certificates || k.MFA }

// Item is one credential to delete: the password, or an access key,
// signing certificate or MFA device by its ID or serial.
type Item struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

func (it Item) String() string {
	if it.ID == "" {
		return it.Kind
	}
	return it.Kind + " " + it.ID
}

// PlanDelete lists what to delete of f, in the order it is deleted: access
// keys and signing certificates (what programs use), then the password,
// then MFA last, so that the password is never left without its MFA.
func PlanDelete(f *Findings, k Kinds) []Item {
	var items []Item
	if k.AccessKeys {
		for _, key := range f.AccessKeys {
			items = append(items, Item{KindAccessKey, key.ID})
		}
	}
	if k.Certificates {
		for _, c := range f.SigningCertificates {
			items = append(items, Item{KindSigningCertificate, c.ID})
		}
	}
	if k.Password && f.Password != nil {
		items = append(items, Item{Kind: KindPassword})
	}
	if k.MFA {
		for _, d := range f.MFADevices {
			items = append(items, Item{KindMFADevice, d.Serial})
		}
	}
	return items
}

// Outcomes of an Action.
const (
	Deleted  = "deleted"
	Gone     = "already_gone" // AWS answered NoSuchEntity: someone else deleted it
	Failed   = "failed"
	NotDone  = "not_done" // interrupted before this item
	Planned  = "planned"  // --dry-run
	Held     = "held"     // a risky step the user did not accept: not taken
	Created  = "created"
	Existing = "already_exists"
)

// Action is what happened to one item.
type Action struct {
	Item
	Outcome   string `json:"outcome"`
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Retried explains a Deleted or Created whose last answer was
	// NoSuchEntity or EntityAlreadyExists: an earlier attempt of the same
	// call may have reached AWS and its response was lost, so the change is
	// this run's.
	Retried string `json:"retried,omitempty"`
	// Risk and Note say why a step is risky; a risky step the user did not
	// accept is Held.
	Risk Risk   `json:"risk,omitempty"`
	Note string `json:"note,omitempty"`
}

// Hooks are told of each change Delete and EnableRecovery make.
type Hooks struct {
	// Before is called right before an item's call is sent, when the
	// lease's current session (KeyID) is the one that sends it. If it
	// fails, the call is not sent: the item, and every item after it, is
	// NotDone, with an error wrapping rootsession.ErrNotRecorded.
	Before func(Item) error
	// After is told of each item's outcome as soon as it is known.
	After func(Action)
	// Expired is told when AWS refused an item's call because its session
	// had expired (a clock behind AWS's): nothing was changed, and the call
	// is sent again with a new session, with Before called again first.
	Expired func(Item, error)
}

func (h Hooks) before(it Item) error {
	if h.Before == nil {
		return nil
	}
	if err := h.Before(it); err != nil {
		return fmt.Errorf("not sent, as %w: %w", rootsession.ErrNotRecorded, err)
	}
	return nil
}

func (h Hooks) after(a Action) {
	if h.After != nil {
		h.After(a)
	}
}

// expired tells h.Expired of a call refused with ExpiredToken that
// rootsession.Lease.Do will send again: only its first send is.
func (h Hooks) expired(it Item, err error, sends int) {
	if code := awserr.Code(err); h.Expired != nil && sends == 1 && (code == "ExpiredToken" || code == "ExpiredTokenException") {
		h.Expired(it, err)
	}
}

// Delete deletes items in order with lease's session, telling hooks of
// each call before it is sent and of its outcome as it happens. Once ctx is
// cancelled it starts no further item, but a call already sent is let
// finish, so every outcome is known; the items left are NotDone. The first
// failure, or a call that could not be recorded, stops the account's run:
// the items after it are NotDone too, so that MFA is never removed from a
// password that could not be.
func Delete(ctx context.Context, lease *rootsession.Lease, items []Item, hooks Hooks) []Action {
	actions := make([]Action, 0, len(items))
	stopped := false
	for _, it := range items {
		a := Action{Item: it, Outcome: NotDone}
		if !stopped && ctx.Err() == nil {
			a = deleteItem(context.WithoutCancel(ctx), lease, it, hooks)
			stopped = a.Outcome == Failed || a.Outcome == NotDone
		}
		hooks.after(a)
		actions = append(actions, a)
	}
	return actions
}

// withAttempts is a client option that notes each attempt in rec.
func withAttempts(rec *attempts.Record) func(*iam.Options) {
	return func(o *iam.Options) { o.APIOptions = append(o.APIOptions, rec.AddTo) }
}

func deleteItem(ctx context.Context, lease *rootsession.Lease, it Item, hooks Hooks) Action {
	a := Action{Item: it}
	var lost string
	sends := 0
	err := lease.Do(ctx, func(cfg aws.Config) (err error) {
		if err := hooks.before(it); err != nil {
			return err
		}
		sends++
		rec := new(attempts.Record)
		defer func() { lost = rec.Lost(); hooks.expired(it, err, sends) }()
		c := iam.NewFromConfig(cfg, withAttempts(rec))
		switch it.Kind {
		case KindAccessKey:
			var out *iam.DeleteAccessKeyOutput
			if out, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(it.ID)}); err == nil {
				a.RequestID = awserr.ResultRequestID(out.ResultMetadata)
			}
		case KindSigningCertificate:
			var out *iam.DeleteSigningCertificateOutput
			if out, err = c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{CertificateId: aws.String(it.ID)}); err == nil {
				a.RequestID = awserr.ResultRequestID(out.ResultMetadata)
			}
		case KindPassword:
			var out *iam.DeleteLoginProfileOutput
			if out, err = c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); err == nil {
				a.RequestID = awserr.ResultRequestID(out.ResultMetadata)
			}
		case KindMFADevice:
			var out *iam.DeactivateMFADeviceOutput
			if out, err = c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String(it.ID)}); err == nil {
				a.RequestID = awserr.ResultRequestID(out.ResultMetadata)
			}
		default:
			err = fmt.Errorf("unknown credential kind %q", it.Kind)
		}
		return err
	})
	switch {
	case err == nil:
		a.Outcome = Deleted
	case awserr.IsNoSuchEntity(err) && lost != "":
		a.Outcome, a.RequestID, a.Retried = Deleted, awserr.RequestID(err), lost
	case awserr.IsNoSuchEntity(err):
		a.Outcome, a.RequestID = Gone, awserr.RequestID(err)
	case errors.Is(err, rootsession.ErrNotRecorded):
		a.Outcome, a.Error = NotDone, err.Error()
	default:
		a.fail(err)
	}
	return a
}

// Remaining lists what of the chosen kinds f still holds: after Delete,
// a re-listing that leaves nothing verifies the deletion.
func Remaining(f *Findings, k Kinds) []Item { return PlanDelete(f, k) }

// HasPassword reports whether the root user has a login profile, with the
// IAMCreateRootUserPassword session of lease.
func HasPassword(ctx context.Context, lease *rootsession.Lease) (bool, error) {
	var has bool
	err := lease.Do(ctx, func(cfg aws.Config) error {
		_, err := iam.NewFromConfig(cfg).GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
		has = err == nil
		if awserr.IsNoSuchEntity(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("GetLoginProfile: %w", err)
		}
		return nil
	})
	return has, err
}

// EnableRecovery creates the root user's login profile without a password
// (CreateLoginProfile with no parameters), so that the owner of the root
// email address can set one through "Forgot password", telling hooks of
// the call before it is sent and of its outcome. A password that exists
// already is Existing, not a failure, unless an earlier attempt of this
// call may have created it (Created, with Retried). A call once sent is
// let finish even if ctx is cancelled.
func EnableRecovery(ctx context.Context, lease *rootsession.Lease, hooks Hooks) Action {
	ctx = context.WithoutCancel(ctx)
	a := Action{Item: Item{Kind: KindPassword}}
	var lost string
	sends := 0
	err := lease.Do(ctx, func(cfg aws.Config) (err error) {
		if err := hooks.before(a.Item); err != nil {
			return err
		}
		sends++
		rec := new(attempts.Record)
		defer func() { lost = rec.Lost(); hooks.expired(a.Item, err, sends) }()
		out, err := iam.NewFromConfig(cfg, withAttempts(rec)).CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
		if err == nil {
			a.RequestID = awserr.ResultRequestID(out.ResultMetadata)
		}
		return err
	})
	switch {
	case err == nil:
		a.Outcome = Created
	case awserr.Code(err) == "EntityAlreadyExists" && lost != "":
		a.Outcome, a.RequestID, a.Retried = Created, awserr.RequestID(err), lost
	case awserr.Code(err) == "EntityAlreadyExists":
		a.Outcome, a.RequestID = Existing, awserr.RequestID(err)
	case errors.Is(err, rootsession.ErrNotRecorded):
		a.Outcome, a.Error = NotDone, err.Error()
	default:
		a.fail(err)
	}
	hooks.after(a)
	return a
}

// fail records err as the action's failure.
func (a *Action) fail(err error) {
	a.Outcome, a.ErrorCode, a.RequestID, a.Error = Failed, awserr.Code(err), awserr.RequestID(err), awserr.Describe(err)
}
