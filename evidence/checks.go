package evidence

import (
	"fmt"
	"strings"
)

// Requirement is a recommendation of a benchmark: "CIS AWS Foundations
// Benchmark", "v5.0.0", "1.3".
type Requirement struct {
	Standard, Version, ID string
}

// String is the requirement as Security Hub's RelatedRequirements write
// it: "CIS AWS Foundations Benchmark v5.0.0/1.3".
func (r Requirement) String() string { return r.Standard + " " + r.Version + "/" + r.ID }

// Benchmark is the benchmark and its version: "CIS AWS Foundations Benchmark v5.0.0".
func (r Requirement) Benchmark() string { return r.Standard + " " + r.Version }

const cis = "CIS AWS Foundations Benchmark"

// Check is one compliance check of a member account's root user, mapped to
// the CIS AWS Foundations Benchmark and, where there is one, to the
// Security Hub control and the AWS Config rule that check the same.
type Check struct {
	ID          string // stable: part of every exported finding's ID
	Title       string
	CIS         Requirement
	SecurityHub string // Security Hub control ID, "" for none
	ConfigRule  string // the AWS Config managed rule behind the control
	Severity    string // of a failure: CRITICAL or HIGH (ASFF labels)
	References  []string
	// fails judges the account's credentials: whether the check fails, why,
	// and which credentials make it fail.
	fails func(creds []Finding) (fail bool, detail string, involved []Finding)
	fix   string // what to run, with ACCOUNT for the account ID
}

// Remediation says how to fix a failure in account.
func (c *Check) Remediation(account string) string {
	return strings.ReplaceAll(c.fix, "ACCOUNT", account)
}

const centralized = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-enable-root-access.html"

// NoCredentials is why a root user with no credentials passes every check,
// MFA ones included: users of other tools ask why "no root MFA" is
// compliant under centralized root access.
const NoCredentials = "The root user holds no credentials: no password, access key, MFA device or signing certificate. " +
	"Under centralized root access nobody can sign in as this root user; the few root tasks are done from the management " +
	"account with sts:AssumeRoot sessions of at most 15 minutes, scoped to one task policy. MFA would protect a sign-in " +
	"that cannot happen, so it is neither possible nor needed, and the check passes (AWS Config returns NOT_APPLICABLE " +
	"for this state; the CIS AWS Foundations Benchmark says root MFA is neither possible nor necessary where root " +
	"credentials were removed from member accounts)."

// The checks, in the order they are reported.
var (
	CheckRootCredentials = &Check{
		ID:         "root-credentials",
		Title:      "Member account root user holds no credentials (centralized root access)",
		CIS:        Requirement{cis, "v7.0.0", "2.1.1"},
		Severity:   "HIGH",
		References: []string{centralized},
		fix:        `rootctl delete --accounts ACCOUNT --reason "…" (removes every root credential with centralized root access)`,
		fails: func(creds []Finding) (bool, string, []Finding) {
			if len(creds) == 0 {
				return false, NoCredentials, nil
			}
			return true, fmt.Sprintf("The root user holds %s: %s. While they exist, this account's root user can be used outside centralized root access.",
				countOf(len(creds), "credential"), list(creds)), creds
		},
	}
	CheckRootAccessKeys = &Check{
		ID:          "root-access-keys",
		Title:       "No access key for the root user",
		CIS:         Requirement{cis, "v5.0.0", "1.3"},
		SecurityHub: "IAM.4",
		ConfigRule:  "iam-root-access-key-check",
		Severity:    "CRITICAL",
		References: []string{"https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-4",
			"https://docs.aws.amazon.com/config/latest/developerguide/iam-root-access-key-check.html", centralized},
		fix: `rootctl delete --accounts ACCOUNT --access-keys --reason "…"`,
		fails: func(creds []Finding) (bool, string, []Finding) {
			keys := ofKinds(creds, KindAccessKey)
			switch {
			case len(creds) == 0:
				return false, NoCredentials, nil
			case len(keys) == 0:
				return false, "The root user has no access key.", nil
			}
			return true, fmt.Sprintf("The root user has %s: %s.", countOf(len(keys), "access key"), list(keys)), keys
		},
	}
	CheckRootMFA = &Check{
		ID:          "root-mfa",
		Title:       "MFA for the root user",
		CIS:         Requirement{cis, "v5.0.0", "1.4"},
		SecurityHub: "IAM.9",
		ConfigRule:  "root-account-mfa-enabled",
		Severity:    "CRITICAL",
		References: []string{"https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9",
			"https://docs.aws.amazon.com/config/latest/developerguide/root-account-mfa-enabled.html", centralized},
		fix: `rootctl delete --accounts ACCOUNT --reason "…" removes the root credentials, and with them the need for MFA; ` +
			`a root user that must keep a password (break-glass) needs an MFA device, and an exception (rootctl audit --exceptions)`,
		fails: func(creds []Finding) (bool, string, []Finding) {
			mfa := ofKinds(creds, KindMFAVirtual, KindMFAHardware, KindMFAFIDO)
			switch {
			case len(creds) == 0:
				return false, NoCredentials, nil
			case len(mfa) > 0:
				return false, fmt.Sprintf("The root user has %s: %s.", countOf(len(mfa), "MFA device"), list(mfa)), nil
			}
			return true, fmt.Sprintf("The root user has %s and no MFA device.", list(creds)), creds
		},
	}
	CheckRootHardwareMFA = &Check{
		ID:          "root-hardware-mfa",
		Title:       "Hardware MFA for the root user",
		CIS:         Requirement{cis, "v5.0.0", "1.5"},
		SecurityHub: "IAM.6",
		ConfigRule:  "root-account-hardware-mfa-enabled",
		Severity:    "CRITICAL",
		References: []string{"https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-6",
			"https://docs.aws.amazon.com/config/latest/developerguide/root-account-hardware-mfa-enabled.html", centralized},
		fix: `rootctl delete --accounts ACCOUNT --reason "…" removes the root credentials, and with them the need for MFA; ` +
			`a root user that must keep a password (break-glass) needs a hardware or FIDO MFA device instead of a virtual one, and an exception (rootctl audit --exceptions)`,
		fails: func(creds []Finding) (bool, string, []Finding) {
			virtual := ofKinds(creds, KindMFAVirtual)
			hardware := ofKinds(creds, KindMFAHardware, KindMFAFIDO)
			switch {
			case len(creds) == 0:
				return false, NoCredentials, nil
			case len(virtual) > 0:
				return true, fmt.Sprintf("The root user has a virtual MFA device: %s.", list(virtual)), creds
			case len(hardware) > 0:
				return false, fmt.Sprintf("The root user has only hardware or FIDO MFA: %s.", list(hardware)), nil
			}
			return true, fmt.Sprintf("The root user has %s and no hardware MFA device.", list(creds)), creds
		},
	}
)

// Checks are every check, in the order they are reported.
var Checks = []*Check{CheckRootCredentials, CheckRootAccessKeys, CheckRootMFA, CheckRootHardwareMFA}

// The result of a check.
const (
	CheckPass    = "PASS"
	CheckFail    = "FAIL"
	CheckUnknown = "UNKNOWN" // the account could not be audited
)

// CheckResult is one check of one account.
type CheckResult struct {
	Check  *Check
	Status string // PASS, FAIL or UNKNOWN
	Detail string
	// Accepted is set on a failure whose every involved credential a live
	// exception accepts: the one that expires first.
	Accepted *Acceptance
}

// Evaluate runs every check on an audited account's findings (resolved
// ones are gone and do not count).
func Evaluate(fs []Finding) []CheckResult {
	var creds []Finding
	for _, f := range fs {
		if f.Status != StatusResolved {
			creds = append(creds, f)
		}
	}
	out := make([]CheckResult, 0, len(Checks))
	for _, c := range Checks {
		fail, detail, involved := c.fails(creds)
		r := CheckResult{Check: c, Status: CheckPass, Detail: detail}
		if fail {
			r.Status = CheckFail
			r.Accepted = acceptedAll(involved)
		}
		out = append(out, r)
	}
	return out
}

// Unknown is every check of an account that could not be audited, with
// why.
func Unknown(why string) []CheckResult {
	out := make([]CheckResult, 0, len(Checks))
	for _, c := range Checks {
		out = append(out, CheckResult{Check: c, Status: CheckUnknown, Detail: "The account could not be audited: " + why})
	}
	return out
}

// acceptedAll is the acceptance that lapses first among fs, when every one
// of fs is accepted; nil otherwise.
func acceptedAll(fs []Finding) *Acceptance {
	var first *Acceptance
	for _, f := range fs {
		if f.Status != StatusAccepted || f.Exception == nil {
			return nil
		}
		if first == nil || f.Exception.Expires.t.Before(first.Expires.t) {
			first = f.Exception
		}
	}
	return first
}

func ofKinds(fs []Finding, kinds ...string) []Finding {
	var out []Finding
	for _, f := range fs {
		for _, k := range kinds {
			if f.Kind == k {
				out = append(out, f)
			}
		}
	}
	return out
}

// list names credentials for a sentence: "a password, access key AKIA…".
func list(fs []Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		switch f.Kind {
		case KindPassword:
			parts[i] = "a password"
		case KindMFAVirtual:
			parts[i] = "virtual MFA device " + f.ID
		case KindMFAHardware:
			parts[i] = "hardware MFA device " + f.ID
		case KindMFAFIDO:
			parts[i] = "FIDO security key " + f.ID
		default:
			parts[i] = strings.ReplaceAll(f.Kind, "_", " ") + " " + f.ID
		}
	}
	return strings.Join(parts, ", ")
}
