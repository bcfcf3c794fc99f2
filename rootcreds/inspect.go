// Package rootcreds is what a root session does to the root user's
// credentials: inspect them, delete them, and re-enable password recovery.
package rootcreds

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/sync/errgroup"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// Findings are the root user's credentials found in one account.
type Findings struct {
	Password            *Password            `json:"password"`
	AccessKeys          []AccessKey          `json:"access_keys"`
	MFADevices          []MFADevice          `json:"mfa_devices"`
	SigningCertificates []SigningCertificate `json:"signing_certificates"`
}

// Empty reports whether the root user holds no credential: the account is
// compliant with centralized root access.
func (f *Findings) Empty() bool {
	return f.Password == nil && len(f.AccessKeys) == 0 && len(f.MFADevices) == 0 && len(f.SigningCertificates) == 0
}

// Password is the root user's login profile. LastUsed is when the password
// last signed in (GetUser's PasswordLastUsed), nil when it never has or
// when IAM keeps no record of it (its tracking began in October 2014); the
// audit reads it, the delete task's inspection does not.
type Password struct {
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
}

// AccessKey is a root access key and its last use.
type AccessKey struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // Active, Inactive or Expired
	Created     time.Time  `json:"created"`
	LastUsed    *time.Time `json:"last_used"`
	LastService string     `json:"last_used_service,omitempty"`
	LastRegion  string     `json:"last_used_region,omitempty"`
}

// MFA device kinds.
const (
	MFAVirtual  = "virtual"
	MFAHardware = "hardware"
	MFAFIDO     = "fido"
)

// MFADevice is an MFA device of the root user.
type MFADevice struct {
	Serial  string    `json:"serial"`
	Kind    string    `json:"kind"` // virtual, hardware or fido
	Enabled time.Time `json:"enabled"`
}

// SigningCertificate is an X.509 signing certificate of the root user. Its
// body is public, but reports keep it out: it is bulky and not a finding.
type SigningCertificate struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	Uploaded time.Time `json:"uploaded"`
}

// mfaKind classifies a serial: virtual devices are arn:aws:iam::ACCOUNT:mfa/…,
// FIDO security keys arn:aws:iam::ACCOUNT:u2f/…, hardware TOTP tokens have
// a device serial.
func mfaKind(serial string) string {
	switch {
	case strings.Contains(serial, ":mfa/"):
		return MFAVirtual
	case strings.Contains(serial, ":u2f/"):
		return MFAFIDO
	}
	return MFAHardware
}

// InspectOptions tune Inspect.
type InspectOptions struct {
	// UseSummary asks GetAccountSummary first and skips the lists it rules
	// out: one call clears a compliant account. Only the audit task allows
	// GetAccountSummary; the delete task does not.
	UseSummary bool
	// PasswordLastUsed asks GetUser for the root password's last use when
	// the root user has a password: in parallel with GetLoginProfile when
	// the summary said so, else after GetLoginProfile found one. An
	// account without a password never costs the call.
	PasswordLastUsed bool
}

// Inspect reads the root user's credentials with a root session's
// configuration. It reports the number of API calls made.
func Inspect(ctx context.Context, cfg aws.Config, opts InspectOptions) (*Findings, int, error) {
	c := iam.NewFromConfig(cfg)
	var calls atomic.Int32
	want := struct{ password, keys, mfa, certs bool }{true, true, true, true}
	if opts.UseSummary {
		calls.Add(1)
		sum, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
		if err != nil {
			return nil, int(calls.Load()), fmt.Errorf("GetAccountSummary: %w", err)
		}
		m := sum.SummaryMap
		want.password = m["AccountPasswordPresent"] > 0
		want.keys = m["AccountAccessKeysPresent"] > 0
		want.mfa = m["AccountMFAEnabled"] > 0
		want.certs = m["AccountSigningCertificatesPresent"] > 0
	}
	f := &Findings{}
	var lastUsed *time.Time
	getUser := func(ctx context.Context) error {
		calls.Add(1)
		out, err := c.GetUser(ctx, &iam.GetUserInput{})
		if err != nil {
			return fmt.Errorf("GetUser: %w", err)
		}
		if out.User != nil {
			lastUsed = out.User.PasswordLastUsed
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	if want.password && opts.PasswordLastUsed && opts.UseSummary {
		g.Go(func() error { return getUser(gctx) }) // the summary says there is a password
	}
	if want.password {
		g.Go(func() error {
			calls.Add(1)
			out, err := c.GetLoginProfile(gctx, &iam.GetLoginProfileInput{})
			if awserr.IsNoSuchEntity(err) {
				return nil // no password: a finding, not an error
			}
			if err != nil {
				return fmt.Errorf("GetLoginProfile: %w", err)
			}
			f.Password = &Password{Created: aws.ToTime(out.LoginProfile.CreateDate)}
			if opts.PasswordLastUsed && !opts.UseSummary {
				return getUser(gctx) // only now is the password known to exist
			}
			return nil
		})
	}
	if want.keys {
		g.Go(func() error {
			keys, n, err := listAccessKeys(gctx, c)
			calls.Add(int32(n))
			f.AccessKeys = keys
			return err
		})
	}
	if want.mfa {
		g.Go(func() error {
			p := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{})
			for p.HasMorePages() {
				calls.Add(1)
				out, err := p.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("ListMFADevices: %w", err)
				}
				for _, d := range out.MFADevices {
					serial := aws.ToString(d.SerialNumber)
					f.MFADevices = append(f.MFADevices, MFADevice{Serial: serial, Kind: mfaKind(serial), Enabled: aws.ToTime(d.EnableDate)})
				}
			}
			return nil
		})
	}
	if want.certs {
		g.Go(func() error {
			p := iam.NewListSigningCertificatesPaginator(c, &iam.ListSigningCertificatesInput{})
			for p.HasMorePages() {
				calls.Add(1)
				out, err := p.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("ListSigningCertificates: %w", err)
				}
				for _, sc := range out.Certificates {
					f.SigningCertificates = append(f.SigningCertificates, SigningCertificate{
						ID: aws.ToString(sc.CertificateId), Status: string(sc.Status), Uploaded: aws.ToTime(sc.UploadDate)})
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, int(calls.Load()), err
	}
	if f.Password != nil {
		f.Password.LastUsed = lastUsed
	}
	// Empty lists, not nulls, so JSON readers see one shape.
	f.AccessKeys = nonNil(f.AccessKeys)
	f.MFADevices = nonNil(f.MFADevices)
	f.SigningCertificates = nonNil(f.SigningCertificates)
	return f, int(calls.Load()), nil
}

// listAccessKeys lists the keys and asks each one's last use concurrently.
func listAccessKeys(ctx context.Context, c *iam.Client) ([]AccessKey, int, error) {
	var keys []AccessKey
	calls := 0
	p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{})
	for p.HasMorePages() {
		calls++
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, calls, fmt.Errorf("ListAccessKeys: %w", err)
		}
		for _, k := range out.AccessKeyMetadata {
			keys = append(keys, AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status), Created: aws.ToTime(k.CreateDate)})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range keys {
		g.Go(func() error {
			out, err := c.GetAccessKeyLastUsed(gctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(keys[i].ID)})
			if err != nil {
				return fmt.Errorf("GetAccessKeyLastUsed %s: %w", keys[i].ID, err)
			}
			if u := out.AccessKeyLastUsed; u != nil && u.LastUsedDate != nil {
				keys[i].LastUsed = u.LastUsedDate
				keys[i].LastService, keys[i].LastRegion = aws.ToString(u.ServiceName), aws.ToString(u.Region)
			}
			return nil
		})
	}
	calls += len(keys)
	return keys, calls, g.Wait()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Audit reads the root user's credentials in the lease's session, summary
// first (an account with none costs one IAM call), and when the root user
// has a password, when it was last used (GetUser); it assumes once more
// should the session expire mid-audit; calls counts the IAM calls made.
func Audit(ctx context.Context, lease *rootsession.Lease) (f *Findings, calls int, err error) {
	err = lease.Do(ctx, func(cfg aws.Config) error {
		var n int
		var err error
		f, n, err = Inspect(ctx, cfg, InspectOptions{UseSummary: true, PasswordLastUsed: true})
		calls += n
		return err
	})
	return f, calls, err
}
