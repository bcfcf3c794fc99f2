package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/provision"
	"github.com/rootctl/rootctl/rootcreds"
)

// HookReport is the one JSON document of `rootctl hook account-created`
// and `rootctl account create`: the run, the creation if any, and what the
// post-provisioning check found and did (provision.Checked).
type HookReport struct {
	Header
	Caller   string              `json:"caller"`
	Reason   string              `json:"reason"`
	AuditLog string              `json:"audit_log"`
	Creation *provision.Creation `json:"creation,omitempty"`
	Moved    string              `json:"moved_to,omitempty"`
	provision.Checked
}

// hookExit maps a report's verdict to the documented exit codes.
func hookExit(r *HookReport) error {
	var class orgrun.Class
	var err error
	switch r.Status {
	case orgrun.StatusCompliant:
		return nil
	case orgrun.StatusRootCredentials:
		class, err = orgrun.Findings, fmt.Errorf("account %s has root credentials (rerun with --remediate to delete them)", r.Account.ID)
	case orgrun.StatusTimeout:
		class, err = orgrun.Timeout, fmt.Errorf("%s (raise --timeout, or run rootctl hook account-created --account-id %s later)", r.Error, r.Account.ID)
		if r.Account.ID == "" { // still being created: r.Error names the request to follow
			err = errors.New(r.Error)
		}
	case orgrun.StatusNotProvisioned:
		class, err = orgrun.NotProvisioned, errors.New(r.Error)
	case orgrun.StatusInterrupted:
		class, err = orgrun.Interrupted, errors.New("interrupted: see the report for what was done")
	default:
		class, err = orgrun.Partial, fmt.Errorf("account %s: %s", r.Account.ID, nonEmptyOr(r.Error, r.Status))
	}
	return &orgrun.Outcome{Class: class, Err: err}
}

// finishHook prints the report and returns the exit status.
func finishHook(io *IOStreams, format string, r *HookReport) error {
	if err := export(io, format, false, r); err != nil {
		return err
	}
	return hookExit(r)
}

func (r *HookReport) render(s *screen) error {
	if c := r.Creation; c != nil {
		s.printf("Creation:  %s %s\n", c.RequestID, c.State)
	}
	if a := r.Account; a.ID != "" {
		s.printf("Account:   %s\n", strings.Join(nonEmpty(a.ID, a.Name, a.Email, a.State), " "))
	}
	if a := r.Account; a.OUPath != "" {
		s.printf("OU:        %s (%s)\n", a.OUPath, a.OUPathIDs)
	}
	if r.Moved != "" {
		s.printf("Moved to:  %s\n", r.Moved)
	}
	if r.Found != nil {
		s.printf("Found:     %s\n", rootStateText(r.Found))
	}
	for _, a := range r.Actions {
		line := a.Item.String() + ": " + a.Outcome
		if a.Error != "" {
			line += " (" + a.Error + ")"
		}
		s.printf("Action:    %s\n", line)
	}
	if r.Final != nil && len(r.Actions) > 0 {
		s.printf("Final:     %s\n", rootStateText(r.Final))
	}
	status := r.Status
	if r.Error != "" {
		status += ": " + r.Error
	}
	s.printf("Result:    %s\n", s.color(hookColor(r.Status), status))
	return nil
}

func hookColor(status string) string {
	if status == orgrun.StatusCompliant {
		return colorGreen
	}
	return colorRed
}

func rootStateText(s *provision.RootState) string {
	if s.Status == orgrun.StatusCompliant {
		return "no root credentials"
	}
	var parts []string
	for _, it := range rootcreds.PlanDelete(s.Findings, rootcreds.AllKinds()) {
		parts = append(parts, it.String())
	}
	return "root credentials: " + strings.Join(parts, ", ")
}
