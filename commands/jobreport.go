package commands

import (
	"fmt"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/rootcreds"
)

// JobReport is `rootctl delete -o json` and `rootctl recovery -o json`.
type JobReport struct {
	Header
	Command  string              `json:"command"`
	Caller   string              `json:"caller"`
	Reason   string              `json:"reason"`
	DryRun   bool                `json:"dry_run"`
	AuditLog string              `json:"audit_log"`
	Accounts []orgrun.AccountJob `json:"accounts"`
	Summary  orgrun.JobSummary   `json:"summary"`
}

func (r *JobReport) takeAccounts() (int, func(int) any, func()) { return takeList(&r.Accounts) }

func (r *JobReport) render(s *screen) error {
	t := s.table(cols("Account"), optional("Name", "OU"), cols("Status", "Credential", "Outcome"))
	for _, a := range r.Accounts {
		note := a.Reason
		if a.Error != "" {
			note = a.Error
		}
		if a.Status == orgrun.StatusBlocked {
			note = blockedCell(a.Result)
		}
		if len(a.Actions) == 0 {
			t.Append(a.ID, a.Name, orDash(nonEmpty(a.OUPath)), a.Status, "-", orDash(nonEmpty(note)))
			continue
		}
		for i, act := range a.Actions {
			status := a.Status
			if i > 0 {
				status = ""
			}
			outcome := act.Outcome
			if act.Error != "" {
				outcome += ": " + act.Error
			}
			if act.Outcome == rootcreds.Held {
				outcome += ": " + act.Note + " (--accept " + string(act.Risk) + ")"
			}
			t.Append(a.ID, a.Name, orDash(nonEmpty(a.OUPath)), status, act.Item.String(), outcome)
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	sum := r.Summary
	held := ""
	if sum.HeldSteps > 0 {
		held = fmt.Sprintf(", %d risky steps held", sum.HeldSteps)
	}
	s.printf("%d accounts: %d done (%d changes), %d nothing to do, %d planned, %d failed, %d errors, %d skipped, %d interrupted%s%s\n",
		sum.Accounts, sum.Done, sum.Changes, sum.NothingToDo, sum.Planned, sum.Failed, sum.Errors, sum.Skipped, sum.Interrupted, blockedNote(sum.Blocked), held)
	return nil
}
