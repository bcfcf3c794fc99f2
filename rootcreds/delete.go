package rootcreds

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

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
	// Risk and Note say why a step is risky; a risky step the user did not
	// accept is Held.
	Risk Risk   `json:"risk,omitempty"`
	Note string `json:"note,omitempty"`
}

// Delete deletes items in order with lease's session, telling onAction of
// each outcome as it happens. Once ctx is cancelled it starts no further
// item, but a call already sent is let finish, so every outcome is known;
// the items left are NotDone. The first failure stops the account's run:
// the items after it are NotDone too, so that MFA is never removed from a
// password that could not be.
func Delete(ctx context.Context, lease *rootsession.Lease, items []Item, onAction func(Action)) []Action {
	actions := make([]Action, 0, len(items))
	stopped := false
	for _, it := range items {
		a := Action{Item: it, Outcome: NotDone}
		if !stopped && ctx.Err() == nil {
			a = deleteItem(context.WithoutCancel(ctx), lease, it)
			stopped = a.Outcome == Failed
		}
		if onAction != nil {
			onAction(a)
		}
		actions = append(actions, a)
	}
	return actions
}

func deleteItem(ctx context.Context, lease *rootsession.Lease, it Item) Action {
	a := Action{Item: it}
	err := lease.Do(ctx, func(cfg aws.Config) error {
		c := iam.NewFromConfig(cfg)
		var err error
		switch it.Kind {
		case KindAccessKey:
			var out *iam.DeleteAccessKeyOutput
			if out, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(it.ID)}); err == nil {
				a.RequestID = rootsession.ResultRequestID(out.ResultMetadata)
			}
		case KindSigningCertificate:
			var out *iam.DeleteSigningCertificateOutput
			if out, err = c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{CertificateId: aws.String(it.ID)}); err == nil {
				a.RequestID = rootsession.ResultRequestID(out.ResultMetadata)
			}
		case KindPassword:
			var out *iam.DeleteLoginProfileOutput
			if out, err = c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{}); err == nil {
				a.RequestID = rootsession.ResultRequestID(out.ResultMetadata)
			}
		case KindMFADevice:
			var out *iam.DeactivateMFADeviceOutput
			if out, err = c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{SerialNumber: aws.String(it.ID)}); err == nil {
				a.RequestID = rootsession.ResultRequestID(out.ResultMetadata)
			}
		default:
			err = fmt.Errorf("unknown credential kind %q", it.Kind)
		}
		return err
	})
	switch {
	case err == nil:
		a.Outcome = Deleted
	case isNoSuchEntity(err):
		a.Outcome, a.RequestID = Gone, rootsession.RequestID(err)
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
		if isNoSuchEntity(err) {
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
// email address can set one through "Forgot password". A password that
// exists already is Existing, not a failure. A call once sent is let
// finish even if ctx is cancelled.
func EnableRecovery(ctx context.Context, lease *rootsession.Lease) Action {
	ctx = context.WithoutCancel(ctx)
	a := Action{Item: Item{Kind: KindPassword}}
	err := lease.Do(ctx, func(cfg aws.Config) error {
		out, err := iam.NewFromConfig(cfg).CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
		if err == nil {
			a.RequestID = rootsession.ResultRequestID(out.ResultMetadata)
		}
		return err
	})
	switch {
	case err == nil:
		a.Outcome = Created
	case rootsession.ErrorCode(err) == "EntityAlreadyExists":
		a.Outcome, a.RequestID = Existing, rootsession.RequestID(err)
	default:
		a.fail(err)
	}
	return a
}

// fail records err as the action's failure.
func (a *Action) fail(err error) {
	a.Outcome, a.ErrorCode, a.RequestID, a.Error = Failed, rootsession.ErrorCode(err), rootsession.RequestID(err), rootsession.Describe(err)
}
