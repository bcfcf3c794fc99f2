package commands

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/inputfile"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/provision"
	"github.com/rootctl/rootctl/rootcreds"
)

// defaultHookReason is recorded when the hook runs without --reason.
const defaultHookReason = "post-provisioning check of a new member account (rootctl hook account-created)"

// HookInput holds the options of `rootctl hook account-created`.
type HookInput struct {
	AWS       AWSOptions
	Root      RootOptions
	AccountID string
	Event     string // file name, or "-" for stdin
	Remediate bool
	Timeout   time.Duration
	Output    string
}

var hookFormats = []string{"json", "table"}

// hookExitCodes are the exit codes of the post-provisioning check: the
// hook's and account create's.
var hookExitCodes = exitCodesFor(map[int]string{
	ExitOK:             "the account has no root credentials (none found, or all removed with --remediate)",
	ExitFindings:       "root credentials found and left",
	ExitPartial:        "the root user could not be audited, or --remediate could not remove everything",
	ExitTimeout:        "timed out waiting for the account",
	ExitNotProvisioned: "the account creation failed, or the account is suspended or closing",
})

func hookCommand(deps *Deps) *cli.Command {
	var in HookInput
	return &cli.Command{
		Name:  "hook",
		Usage: "checks for account-vending pipelines",
		Description: `Examples:
   rootctl hook account-created --sim --account-id 333333333302
   rootctl hook account-created --event - --remediate < event.json`,
		Subcommands: []*cli.Command{{
			Name:  "account-created",
			Usage: "prove that a new member account has no root credentials (optionally remove them)",
			Description: `The post-provisioning check, for an account-vending pipeline. Give it the new
account's ID, or the CreateAccountResult event that AWS Organizations emits
(the EventBridge event, or the CloudTrail record). It waits until the account
is ACTIVE (at most --timeout), audits its root user with a root session scoped
to IAMAuditRootUserCredentials, and, only with --remediate, deletes every root
credential it finds with IAMDeleteRootUserCredentials (recorded in the audit
log, like rootctl delete). It prints one JSON document: the account, the state
found, the actions taken and the final state. Running it twice is safe: the
second run finds nothing to do.

--reason defaults to "` + defaultHookReason + `".

` + hookExitCodes + `

Examples:
   rootctl hook account-created --account-id 111122223333
   rootctl hook account-created --event event.json --remediate --reason "vending run 412"
   aws events ... | rootctl hook account-created --event - --timeout 20m`,
			Flags: append(append(append(awsFlags(), rootFlags(&in.Root)...),
				&cli.StringFlag{Name: "account-id", Destination: &in.AccountID, Usage: "the new account's `ID` (12 digits)"},
				&cli.StringFlag{Name: "event", Destination: &in.Event, Usage: "read the CreateAccountResult event from `FILE` (- for stdin)"},
				&cli.BoolFlag{Name: "remediate", Destination: &in.Remediate, Usage: "delete the root credentials found (this flag is the confirmation)"},
				&cli.DurationFlag{Name: "timeout", Value: 15 * time.Minute, Destination: &in.Timeout, Usage: "wait at most `DURATION` for the account to become ACTIVE"},
			), outputFlags(nil, hookFormats...)...),
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				in.AWS, in.Output = awsOptions(c), c.String("output")
				return HookCommand(c.Context, in, deps)
			},
		}},
	}
}

// HookCommand runs `rootctl hook account-created`.
func HookCommand(ctx context.Context, in HookInput, deps *Deps) error {
	creation, err := in.check(deps.IO.In)
	if err != nil {
		return err
	}
	run, lister, err := startHookRun(ctx, deps, in.AWS, in.Root)
	if err != nil {
		return err
	}
	defer run.close()
	report := newHookReport(run, lister.Org.ID)
	report.Creation = creation
	id := in.AccountID
	if creation != nil {
		id = creation.AccountID
		if creation.State != provision.Succeeded {
			report.Account.ID = id
			report.Status, report.Error = orgrun.StatusNotProvisioned, "the account creation "+creationFailure(*creation)
			return finishHook(deps.IO, in.Output, report)
		}
	}
	if err := checkTarget(lister, id); err != nil {
		return err
	}
	waitCtx, cancel := provision.WithTimeout(ctx, in.Timeout)
	defer cancel()
	run.check(ctx, waitCtx, deps, lister, &report.Checked, id, in.Remediate)
	return finishHook(deps.IO, in.Output, report)
}

// check validates the input and reads the event, if any.
func (in HookInput) check(stdin io.Reader) (*provision.Creation, error) {
	if err := checkOption("--output", in.Output, hookFormats...); err != nil {
		return nil, err
	}
	if err := checkTimeout(in.Timeout); err != nil {
		return nil, err
	}
	switch {
	case (in.AccountID == "") == (in.Event == ""):
		return nil, usageErrorf("pass either --account-id ID or --event FILE (- for stdin), not both or neither")
	case in.AccountID != "":
		if !awserr.ValidAccountID(in.AccountID) {
			return nil, usageErrorf("--account-id %q: want the 12 digits of an AWS account ID", in.AccountID)
		}
		return nil, nil
	}
	data, err := readEvent(in.Event, stdin)
	if err != nil {
		return nil, err
	}
	c, err := provision.ParseEvent(data)
	if err != nil {
		return nil, usageErrorf("--event %s: %v", in.Event, err)
	}
	if c.State == provision.Succeeded && !awserr.ValidAccountID(c.AccountID) {
		return nil, usageErrorf("--event %s: accountId %q is not 12 digits", in.Event, c.AccountID)
	}
	return &c, nil
}

// maxEvent bounds an event file: EventBridge events are at most 256 KB.
const maxEvent = 256 << 10

func readEvent(name string, stdin io.Reader) ([]byte, error) {
	if name != "-" {
		data, err := inputfile.Read(name, maxEvent)
		if errors.Is(err, inputfile.ErrTooLarge) {
			return nil, usageErrorf("--event %s: larger than an EventBridge event (256 KB)", name)
		}
		if err != nil {
			return nil, usageErrorf("--event: %v", err)
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(stdin, maxEvent+1))
	switch {
	case err != nil:
		return nil, usageErrorf("--event %s: %v", name, err)
	case len(data) > maxEvent:
		return nil, usageErrorf("--event %s: larger than an EventBridge event (256 KB)", name)
	}
	return data, nil
}

func checkTimeout(d time.Duration) error {
	if d <= 0 || d > 24*time.Hour {
		return usageErrorf("--timeout %v: want a duration from 1s to 24h, such as 15m", d)
	}
	return nil
}

// startHookRun starts a root run with the hook's default reason, and reads
// the organization.
func startHookRun(ctx context.Context, deps *Deps, awsOpts AWSOptions, root RootOptions) (*rootRun, *orgscan.Lister, error) {
	if strings.TrimSpace(root.Reason) == "" {
		root.Reason = defaultHookReason
	}
	if err := root.check(); err != nil {
		return nil, nil, err
	}
	return startOrgRun(ctx, deps, awsOpts, root)
}

func newHookReport(run *rootRun, org string) *HookReport {
	return &HookReport{Header: newHeader(org, run.env.Now()), Caller: run.caller,
		Reason: run.log.Reason(), AuditLog: run.log.Path(), Checked: provision.Checked{Actions: []rootcreds.Action{}}}
}

// checkTarget refuses the management account, which AssumeRoot cannot target.
func checkTarget(l *orgscan.Lister, id string) error {
	if id == l.Org.ManagementAccount {
		return usageErrorf("account %s is the management account of %s: AssumeRoot cannot target it, so there is nothing to check", id, l.Org.ID)
	}
	return nil
}

func creationFailure(c provision.Creation) string {
	if c.State == provision.Failed {
		return "failed: " + c.FailureReason
	}
	return "is " + c.State
}

// check is the post-provisioning check of account, into checked (see
// provision.Checker.Check): it locks the account before remediate changes
// it, and says on stderr while it waits; then it warns of what the run
// could not do in full (runNotes).
func (r *rootRun) check(ctx, waitCtx context.Context, deps *Deps, lister *orgscan.Lister, checked *provision.Checked, account string, remediate bool) {
	c := &provision.Checker{
		Run: r.orgRun(lister, orgscan.Selection{}, 1),
		Lock: func(account string) (func(), error) {
			locks, err := takeLocks(deps, "hook account-created", []lockTarget{accountLock(account)})
			return locks.release, err
		},
		Waiting: func(account, state string) {
			r.io.Infof("Account %s is %s; waiting for it to become ACTIVE…\n", account, state)
		},
	}
	c.Check(ctx, waitCtx, checked, account, remediate)
	runNotes(deps.IO, c.Run)
}

func nonEmptyOr(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
