package commands

import (
	"time"

	"github.com/rootctl/rootctl/activity"
)

// ActivityReport is `rootctl activity -o json`.
type ActivityReport struct {
	Header
	Region  string           `json:"region"`
	Since   time.Time        `json:"since"`
	Until   time.Time        `json:"until"`
	Events  []activity.Event `json:"events"`
	Summary activity.Summary `json:"summary"`
}

func (r *ActivityReport) csvHeader() []string {
	return []string{"time", "caller", "target_account", "task", "result", "error_message", "source_ip", "user_agent", "session_access_key_id", "region", "event_id"}
}

func (r *ActivityReport) csvRows() [][]string {
	var rows [][]string
	for _, e := range r.Events {
		rows = append(rows, []string{e.Time.Format(time.RFC3339), e.Caller, e.Account, e.Task, e.Result, e.ErrorMessage, e.SourceIP, e.UserAgent, e.SessionKeyID, e.Region, e.EventID})
	}
	return rows
}

func (r *ActivityReport) records() []any {
	out := make([]any, len(r.Events))
	for i := range r.Events {
		out[i] = &r.Events[i]
	}
	return out
}

func (r *ActivityReport) render(s *screen) error {
	t := s.table(cols("Time", "Caller", "Account", "Task", "Result"), optional("Source IP", "User agent", "Session key"))
	for _, e := range r.Events {
		result := e.Result
		color := colorGreen
		if result != activity.Success {
			color = colorRed
		}
		t.Append(e.Time.Format(time.DateTime), e.Caller, e.Account, e.Task, s.color(color, result), e.SourceIP, shorten(e.UserAgent, 32), orDash(nonEmpty(e.SessionKeyID)))
	}
	if err := t.Render(); err != nil {
		return err
	}
	sum := r.Summary
	s.printf("%d AssumeRoot calls from %s to %s in %s: %d succeeded, %d failed\n",
		sum.Events, r.Since.Format(time.DateTime), r.Until.Format(time.DateTime), r.Region, sum.Succeeded, sum.Failed)
	for _, group := range []struct {
		title  string
		counts []activity.Count
	}{{"Caller", sum.ByCaller}, {"Task", sum.ByTask}} {
		if len(group.counts) == 0 {
			continue
		}
		t := s.table(cols(group.title, "Calls", "Failed", "Accounts"))
		for _, c := range group.counts {
			t.Append(c.Name, c.Calls, c.Failed, c.Accounts)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

// shorten cuts s to n characters, marking the cut.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
