// Package evidence turns an audit into what an auditor accepts: every root
// credential as a finding, open or accepted by an exception that expires
// (Exceptions), new, persisting or resolved against a previous run
// (Compare), and each account judged by the checks of the CIS AWS
// Foundations Benchmark and of Security Hub (Evaluate). It knows nothing of
// flags, files or terminals: commands reads the files and renders the
// results.
package evidence

import (
	"sort"
	"time"

	"github.com/rootctl/rootctl/rootcreds"
)

// The kinds of root credential, as findings and in an exception's accept
// list. MFA devices are split by kind, so that an exception can accept a
// hardware device and still flag a virtual one.
const (
	KindPassword           = "password"
	KindAccessKey          = "access_key"
	KindMFAVirtual         = "mfa_virtual"
	KindMFAHardware        = "mfa_hardware"
	KindMFAFIDO            = "mfa_fido"
	KindSigningCertificate = "signing_certificate"
)

// Kinds are the credential kinds, in the order findings are listed.
var Kinds = []string{KindPassword, KindAccessKey, KindMFAVirtual, KindMFAHardware, KindMFAFIDO, KindSigningCertificate}

var mfaKinds = map[string]string{
	rootcreds.MFAVirtual:  KindMFAVirtual,
	rootcreds.MFAHardware: KindMFAHardware,
	rootcreds.MFAFIDO:     KindMFAFIDO,
}

// Credential names one credential of a root user: its kind and its ID (the
// access key ID, the MFA device's serial, the certificate ID, or for the
// password the time it was set, so that a password deleted and set again
// is a new finding).
type Credential struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// String is "access_key AKIA…", or the kind alone.
func (c Credential) String() string {
	if c.ID == "" {
		return c.Kind
	}
	return c.Kind + " " + c.ID
}

// Credentials lists the credentials of an audited root user, in the order
// of Kinds, then by ID. nil findings (an account not audited) have none.
func Credentials(f *rootcreds.Findings) []Credential {
	if f == nil {
		return nil
	}
	var out []Credential
	if f.Password != nil {
		out = append(out, Credential{KindPassword, f.Password.Created.UTC().Format(time.RFC3339)})
	}
	for _, k := range f.AccessKeys {
		out = append(out, Credential{KindAccessKey, k.ID})
	}
	for _, d := range f.MFADevices {
		kind, ok := mfaKinds[d.Kind]
		if !ok {
			kind = KindMFAHardware // rootcreds classifies every serial; keep an unknown one visible
		}
		out = append(out, Credential{kind, d.Serial})
	}
	for _, c := range f.SigningCertificates {
		out = append(out, Credential{KindSigningCertificate, c.ID})
	}
	sortCredentials(out)
	return out
}

func kindOrder(kind string) int {
	for i, k := range Kinds {
		if k == kind {
			return i
		}
	}
	return len(Kinds)
}

func sortCredentials(cs []Credential) {
	sort.SliceStable(cs, func(i, j int) bool {
		if a, b := kindOrder(cs[i].Kind), kindOrder(cs[j].Kind); a != b {
			return a < b
		}
		return cs[i].ID < cs[j].ID
	})
}

// A finding's status: what is to be done about it.
const (
	StatusOpen     = "open"     // the credential is there and no live exception accepts it
	StatusAccepted = "accepted" // a live exception accepts it, until its expiry
	StatusResolved = "resolved" // the baseline had it; it is gone (only with a baseline)
)

// A finding's drift against the baseline.
const (
	DriftNew        = "new"        // not in the baseline
	DriftPersisting = "persisting" // in the baseline too
	DriftResolved   = "resolved"   // in the baseline, gone now
)

// Finding is one root credential of one account, as the report gives it.
type Finding struct {
	Credential
	Status string `json:"status"`
	// Drift is set when the run has a baseline that audited the account.
	Drift string `json:"drift,omitempty"`
	// Exception is the exception that accepts the credential, or the one
	// that did until it expired (Expired is then true and Status open).
	Exception *Acceptance `json:"exception,omitempty"`
}

// Acceptance is what a report says of the exception covering a finding.
type Acceptance struct {
	Entry      int    `json:"entry"` // the entry's position in the file, from 1
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Expires    Date   `json:"expires"`
	Expired    bool   `json:"expired,omitempty"`
}

// Counts counts findings by status and drift.
type Counts struct {
	Open, Accepted, Resolved int
	New, Persisting          int
}

// Count counts fs.
func Count(fs []Finding) Counts {
	var c Counts
	for _, f := range fs {
		switch f.Status {
		case StatusOpen:
			c.Open++
		case StatusAccepted:
			c.Accepted++
		case StatusResolved:
			c.Resolved++
		}
		switch f.Drift {
		case DriftNew:
			c.New++
		case DriftPersisting:
			c.Persisting++
		}
	}
	return c
}
