package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/activity"
	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// ActivityInput holds the options of `rootctl activity`.
type ActivityInput struct {
	AWS     AWSOptions
	Since   string
	Account string
	Task    string
	Output  string
}

// ActivityReport is `rootctl activity -o json`.
type ActivityReport struct {
	GeneratedAt time.Time        `json:"generated_at"`
	Region      string           `json:"region"`
	Since       time.Time        `json:"since"`
	Until       time.Time        `json:"until"`
	Events      []activity.Event `json:"events"`
	Summary     activity.Summary `json:"summary"`
}

var activityFormats = []string{"table", "json", "csv"}

func activityCommand(deps *Deps) *cli.Command {
	var in ActivityInput
	return &cli.Command{
		Name:  "activity",
		Usage: "report every AssumeRoot call from CloudTrail: who, which account, which task, and the result",
		Description: `Reads CloudTrail's event history (LookupEvents, at most 2 requests per second,
every page) in the account rootctl runs as, in its region, and lists each
sts:AssumeRoot call: time, caller, target account, task policy, success or
the error code, source IP, user agent, and the access key ID of the session
issued. Look that key ID up in the member account's trail to see what the
session did there. Summaries by caller and by task follow the list.

Run it where AssumeRoot is called (the management account or the IAM
delegated administrator) and in the region rootctl uses (--region).

Exit codes: 0 success; 1 failure; 2 usage error; 130 interrupted.

Examples:
   rootctl activity --sim
   rootctl activity --since 24h --task delete
   rootctl activity --since 2026-11-01 --account 111122223333 -o json
   rootctl activity --since 30d -o csv > root-sessions.csv`,
		Flags: append(awsFlags(),
			&cli.StringFlag{Name: "since", Value: "7d", Destination: &in.Since, Usage: "the window: a `DURATION` back from now (7d, 36h, 90m) or a date (2026-11-01, RFC 3339); at most 90d"},
			&cli.StringFlag{Name: "account", Destination: &in.Account, Usage: "only calls that targeted this member account `ID`"},
			&cli.StringFlag{Name: "task", Destination: &in.Task, Usage: "only calls for this `TASK` (audit, delete, create-password, s3-unlock, sqs-unlock or the policy name)"},
			outputFlag(activityFormats...),
		),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			in.AWS, in.Output = awsOptions(c), c.String("output")
			return ActivityCommand(c.Context, in, deps)
		},
	}
}

// parseSince reads --since: days ("7d"), a Go duration ("36h"), or a date
// or RFC 3339 time; the window must lie within CloudTrail's 90 days.
func parseSince(s string, now time.Time) (time.Time, error) {
	bad := usageErrorf("--since %q: want a duration back from now (7d, 36h, 90m) or a date (2006-01-02 or RFC 3339)", s)
	var since time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return time.Time{}, bad
		}
		since = now.Add(-time.Duration(n) * 24 * time.Hour)
	} else if d, err := time.ParseDuration(s); err == nil {
		since = now.Add(-d)
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		since = t
	} else if t, err := time.Parse(time.DateOnly, s); err == nil {
		since = t
	} else {
		return time.Time{}, bad
	}
	switch {
	case !since.Before(now):
		return time.Time{}, usageErrorf("--since %q is not in the past", s)
	case now.Sub(since) > activity.MaxHistory:
		return time.Time{}, usageErrorf("--since %q: CloudTrail's event history keeps 90 days (for older events, query the trail's S3 logs with Athena)", s)
	}
	return since, nil
}

// ActivityCommand runs `rootctl activity`.
func ActivityCommand(ctx context.Context, in ActivityInput, deps *Deps) error {
	if err := checkOutput(in.Output, activityFormats...); err != nil {
		return err
	}
	var f activity.Filter
	if in.Account != "" {
		if !awserr.ValidAccountID(in.Account) {
			return usageErrorf("--account %q: want the 12 digits of an AWS account ID", in.Account)
		}
		f.Account = in.Account
	}
	if in.Task != "" {
		t, err := rootsession.ParseTask(in.Task)
		if err != nil {
			return usageErrorf("--task: %v", err)
		}
		f.TaskPolicyARN = t.ARN()
	}
	// The window is checked against the local clock first, so bad input
	// never starts the simulator or loads credentials.
	if _, err := parseSince(in.Since, time.Now()); err != nil {
		return err
	}
	env, err := deps.LoadAWS(ctx, in.AWS, deps.IO)
	if err != nil {
		return err
	}
	defer env.Close()
	now := env.Now().UTC()
	if f.Since, err = parseSince(in.Since, now); err != nil {
		return err
	}
	f.Until = now
	cfg := env.AWS.Copy()
	awsconfig.LimitRate(&cfg, activity.RequestsPerSecond)

	report := ActivityReport{GeneratedAt: now.Truncate(time.Second), Region: cfg.Region, Since: f.Since, Until: f.Until, Events: []activity.Event{}}
	err = activity.Lookup(ctx, cloudtrail.NewFromConfig(cfg), f, func(e activity.Event) error {
		report.Events = append(report.Events, e)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: ExitCancelled, err: fmt.Errorf("interrupted after %d events", len(report.Events))}
		}
		return fmt.Errorf("reading CloudTrail: %s (the caller needs cloudtrail:LookupEvents)", awserr.Describe(err))
	}
	report.Summary = activity.Summarize(report.Events)
	switch in.Output {
	case "json":
		return printJSON(deps.IO.Out, report)
	case "csv":
		return writeActivityCSV(deps.IO, report)
	}
	return writeActivityTable(deps.IO, report)
}

func writeActivityCSV(ios *IOStreams, r ActivityReport) error {
	w := newCSV(ios.Out)
	w.Write("time", "caller", "target_account", "task", "result", "error_message", "source_ip", "user_agent", "session_access_key_id", "region", "event_id")
	for _, e := range r.Events {
		w.Write(e.Time.Format(time.RFC3339), e.Caller, e.Account, e.Task, e.Result, e.ErrorMessage, e.SourceIP, e.UserAgent, e.SessionKeyID, e.Region, e.EventID)
	}
	return w.Flush()
}

func writeActivityTable(ios *IOStreams, r ActivityReport) error {
	w := ios.Out
	t := newTable(w, "Time", "Caller", "Account", "Task", "Result", "Source IP", "User agent", "Session key")
	for _, e := range r.Events {
		result := e.Result
		color := colorGreen
		if result != activity.Success {
			color = colorRed
		}
		t.Append(e.Time.Format(time.DateTime), e.Caller, e.Account, e.Task, ios.Color(color, result), e.SourceIP, shorten(e.UserAgent, 32), orDash(nonEmpty(e.SessionKeyID)))
	}
	if err := t.Render(); err != nil {
		return err
	}
	s := r.Summary
	printf(w, "%d AssumeRoot calls from %s to %s in %s: %d succeeded, %d failed\n",
		s.Events, r.Since.Format(time.DateTime), r.Until.Format(time.DateTime), r.Region, s.Succeeded, s.Failed)
	for _, group := range []struct {
		title  string
		counts []activity.Count
	}{{"Caller", s.ByCaller}, {"Task", s.ByTask}} {
		if len(group.counts) == 0 {
			continue
		}
		t := newTable(w, group.title, "Calls", "Failed", "Accounts")
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
