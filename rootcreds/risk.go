package rootcreds

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Risk names a deletion that is held back unless the user accepts it by
// name: a step that can break what is in use, or weaken what stays.
type Risk string

// The risks a deletion plan flags.
const (
	// RiskRecentKey is deleting an access key used within RecentUse: a
	// program may depend on it.
	RiskRecentKey Risk = "recently-used-key"
	// RiskMFAWithPassword is removing MFA while the root password stays:
	// the password alone then signs in as root.
	RiskMFAWithPassword Risk = "mfa-with-password"
)

// Risks are every risk, in the order help texts list them.
var Risks = []Risk{RiskRecentKey, RiskMFAWithPassword}

// RecentUse is how recently an access key must have been used for its
// deletion to be RiskRecentKey.
const RecentUse = 30 * 24 * time.Hour

// ParseRisk returns the risk named s.
func ParseRisk(s string) (Risk, error) {
	for _, r := range Risks {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Risks))
	for i, r := range Risks {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown risk %q: want %s", s, strings.Join(names, " or "))
}

// Step is one item of a deletion plan and, when taking it is risky, the
// risk and what makes it so.
type Step struct {
	Item
	Risk Risk
	Why  string // e.g. "used 2 days ago: s3/eu-west-1"
}

// PlanSteps is PlanDelete with each item's risk assessed at now, against
// what the plan leaves behind: a key used within RecentUse, and every MFA
// device when a password exists and the plan does not delete it.
func PlanSteps(f *Findings, k Kinds, now time.Time) []Step {
	items := PlanDelete(f, k)
	passwordStays := f.Password != nil && !slices.Contains(items, Item{Kind: KindPassword})
	steps := make([]Step, len(items))
	for i, it := range items {
		steps[i] = Step{Item: it}
		switch it.Kind {
		case KindAccessKey:
			for _, key := range f.AccessKeys {
				if key.ID == it.ID && key.LastUsed != nil && now.Sub(*key.LastUsed) < RecentUse {
					steps[i].Risk, steps[i].Why = RiskRecentKey, "used "+ago(now.Sub(*key.LastUsed))+": "+key.LastService+"/"+key.LastRegion
				}
			}
		case KindMFADevice:
			if passwordStays {
				steps[i].Risk, steps[i].Why = RiskMFAWithPassword, "the root password stays and would sign in without MFA"
			}
		}
	}
	return steps
}

// ago renders a past duration for people: "today", "1 day ago", "12 days ago".
func ago(d time.Duration) string {
	switch days := int(d / (24 * time.Hour)); {
	case d < 0 || days == 0:
		return "today"
	case days == 1:
		return "1 day ago"
	default:
		return fmt.Sprintf("%d days ago", days)
	}
}
