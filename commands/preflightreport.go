package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/preflight"
)

// maxCauseAccounts is how many accounts a cause names in the table before
// "and N more" (the JSON names every one).
const maxCauseAccounts = 8

// causeGroup is one cause as the table shows it: once, with every account
// and action it concerns.
type causeGroup struct {
	cause    preflight.Cause
	accounts []string
}

// groupCauses numbers the report's distinct causes in order of first
// appearance.
func (r *PreflightReport) groupCauses() []*causeGroup {
	var groups []*causeGroup
	find := func(c preflight.Cause) *causeGroup {
		for _, g := range groups {
			if sameCause(g.cause, c) {
				return g
			}
		}
		g := &causeGroup{cause: c}
		g.cause.Actions = nil
		groups = append(groups, g)
		return g
	}
	for _, a := range r.Accounts {
		for _, v := range a.Tasks {
			for _, c := range v.Causes {
				g := find(c)
				for _, act := range c.Actions {
					if !slices.Contains(g.cause.Actions, act) {
						g.cause.Actions = append(g.cause.Actions, act)
					}
				}
				if !slices.Contains(g.accounts, a.ID) {
					g.accounts = append(g.accounts, a.ID)
				}
			}
		}
	}
	return groups
}

// sameCause says whether two causes are one statement (or level) refusing
// the same way, whatever actions each names.
func sameCause(a, b preflight.Cause) bool {
	return a.Verdict == b.Verdict && a.Deny == b.Deny && a.PolicyType == b.PolicyType && a.PolicyID == b.PolicyID && a.Sid == b.Sid &&
		a.AttachedTo == b.AttachedTo && a.Caller == b.Caller && a.Unsupported == b.Unsupported && a.Statement == b.Statement
}

func (r *PreflightReport) render(s *screen) error {
	groups := r.groupCauses()
	number := func(c preflight.Cause) int {
		return slices.IndexFunc(groups, func(g *causeGroup) bool { return sameCause(g.cause, c) }) + 1
	}
	t := s.table(cols("Account"), optional("Name"), cols(r.Tasks...), optional("Note"))
	for _, a := range r.Accounts {
		row := []any{a.ID, a.Name}
		for i := range r.Tasks {
			if i >= len(a.Tasks) {
				row = append(row, "-")
				continue
			}
			v := a.Tasks[i]
			cell := v.Verdict
			var refs []string
			for _, c := range v.Causes {
				if ref := fmt.Sprintf("[%d]", number(c)); !slices.Contains(refs, ref) {
					refs = append(refs, ref)
				}
			}
			if len(refs) > 0 {
				cell += " " + strings.Join(refs, "")
			}
			row = append(row, s.color(verdictColor(v.Verdict), cell))
		}
		note := a.Reason
		if a.Error != "" {
			note = "error: " + a.Error
		}
		if note == "" {
			note = "-"
		}
		row = append(row, note)
		t.Append(row...)
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, v := range r.CallerWide {
		if v.Verdict == preflight.Blocked {
			s.printf("The caller's own SCPs refuse its AssumeRoot for %s in every account: see [%d].\n", v.Task, number(v.Causes[0]))
		}
	}
	if len(groups) > 0 {
		s.printf("Causes:\n")
	}
	for i, g := range groups {
		accts := g.accounts
		more := ""
		if len(accts) > maxCauseAccounts {
			more = fmt.Sprintf(" and %d more", len(accts)-maxCauseAccounts)
			accts = accts[:maxCauseAccounts]
		}
		s.printf("  [%d] %s\n", i+1, g.cause.Summary())
		s.printf("      accounts: %s%s\n", strings.Join(accts, ", "), more)
		if g.cause.Statement != "" {
			s.printf("      statement: %s\n", g.cause.Statement)
		}
		s.printf("      fix: %s\n", g.cause.Fix)
	}
	sum := r.Summary
	s.printf("%d accounts: %d ok, %d blocked, %d unknown, %d skipped, %d errors%s (%d Organizations requests for the guardrails)\n",
		sum.Accounts, sum.OK, sum.Blocked, sum.Unknown, sum.Skipped, sum.Errors, interruptedNote(sum.Interrupted), sum.Requests)
	return nil
}

// verdictColor is red for blocked, yellow for what could not be decided,
// green for ok.
func verdictColor(v string) string {
	switch v {
	case preflight.OK:
		return colorGreen
	case orgrun.StatusBlocked:
		return colorRed
	}
	return colorYellow
}
