package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/activity"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/rootsession"
)

// ActivityInput holds the options of `rootctl activity`.
type ActivityInput struct {
	AWS     AWSOptions
	Since   string
	Account string
	Task    string
	Output  string
	Wide    bool
}

var activityFormats = []string{"table", "json", "csv", "ndjson"}

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

` + exitCodesFor(map[int]string{ExitOK: "success"}) + `

Examples:
   rootctl activity --sim
   rootctl activity --since 24h --task delete
   rootctl activity --since 2026-11-01 --account 111122223333 -o json
   rootctl activity --since 30d -o csv > root-sessions.csv`,
		Flags: append(append(awsFlags(),
			&cli.StringFlag{Name: "since", Value: "7d", Destination: &in.Since, Usage: "the window: a `DURATION` back from now (7d, 36h, 90m) or a date (2026-11-01, RFC 3339); at most 90d"},
			&cli.StringFlag{Name: "account", Destination: &in.Account, Usage: "only calls that targeted this member account `ID`"},
			&cli.StringFlag{Name: "task", Destination: &in.Task, Usage: "only calls for this `TASK` (" + taskNames() + ", or the policy name)"},
		), outputFlags(&in.Wide, activityFormats...)...),
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
	lister, err := orgscan.NewLister(ctx, env.AWS)
	if err != nil {
		return fmt.Errorf("reading the organization: %s (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)", awserr.Describe(err))
	}
	report := &ActivityReport{Header: newHeader(lister.Org.ID, now), Region: env.AWS.Region, Since: f.Since, Until: f.Until, Events: []activity.Event{}}
	err = activity.Lookup(ctx, env.AWS, f, func(e activity.Event) error {
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
	return export(deps.IO, in.Output, in.Wide, report)
}
