package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/provision"
)

// AccountCreateInput holds the options of `rootctl account create`.
type AccountCreateInput struct {
	AWS       AWSOptions
	Root      RootOptions
	Name      string
	Email     string
	OU        string
	Tags      []string // KEY=VALUE
	Remediate bool
	Timeout   time.Duration
	Output    string
}

func accountCommand(deps *Deps) *cli.Command {
	var in AccountCreateInput
	return &cli.Command{
		Name:  "account",
		Usage: "create member accounts that start with no root credentials",
		Description: `Examples:
   rootctl account create --sim --name sandbox-42 --email aws+sandbox-42@example.com`,
		Subcommands: []*cli.Command{{
			Name:  "create",
			Usage: "create a member account, move it to an OU, and run the post-provisioning check",
			Description: `Creates a member account (CreateAccount), waits for the creation with progress
on stderr (DescribeCreateAccountStatus), moves the account to --ou if given,
then runs the post-provisioning check of rootctl hook account-created: waits
until the account is ACTIVE, audits its root user and, with --remediate,
deletes any root credential. --timeout bounds the whole wait. The creation,
the move and every root action are recorded in the audit log.

--reason defaults to "new member account NAME (rootctl account create)".

` + hookExitCodes + `

Examples:
   rootctl account create --sim --name sandbox-42 --email aws+sandbox-42@example.com
   rootctl account create --name payments-prod --email aws+payments@example.com \
       --ou ou-ab12-cdef3456 --tag team=payments --tag env=prod -o json`,
			Flags: append(append(append(awsFlags(), rootFlags(&in.Root)...),
				&cli.StringFlag{Name: "name", Destination: &in.Name, Usage: "the account's `NAME` (1 to 50 characters)"},
				&cli.StringFlag{Name: "email", Destination: &in.Email, Usage: "the root user's `EMAIL` address, unique across AWS"},
				&cli.StringFlag{Name: "ou", Destination: &in.OU, Usage: "move the account to this `OU_ID` (default: stay in the root)"},
				&cli.StringSliceFlag{Name: "tag", Usage: "tag the account with `KEY=VALUE` (repeatable)"},
				&cli.BoolFlag{Name: "remediate", Destination: &in.Remediate, Usage: "delete any root credential the check finds"},
				&cli.DurationFlag{Name: "timeout", Value: 15 * time.Minute, Destination: &in.Timeout, Usage: "wait at most `DURATION` for the account to be created and ACTIVE"},
			), outputFlags(nil, "table", "json")...),
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				in.AWS, in.Output, in.Tags = awsOptions(c), c.String("output"), c.StringSlice("tag")
				return AccountCreateCommand(c.Context, in, deps)
			},
		}},
	}
}

// The shapes CreateAccount accepts (Organizations API reference,
// CreateAccount: AccountName [\u0020-\u007E]+ up to 50; Email
// [^\s@]+@[^\s@]+\.[^\s@]+ from 6 to 64; Tag keys 1 to 128, values up to
// 256, and no aws: prefix).
var emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

const maxTags = 50

func (in AccountCreateInput) check() ([]provision.Tag, error) {
	if err := checkOption("--output", in.Output, "table", "json"); err != nil {
		return nil, err
	}
	switch {
	case in.Name == "":
		return nil, usageErrorf("--name is required: the new account's name")
	case len(in.Name) > 50 || strings.IndexFunc(in.Name, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		return nil, usageErrorf("--name %q: want 1 to 50 printable ASCII characters", in.Name)
	case in.Email == "":
		return nil, usageErrorf("--email is required: the root user's email address, unique across AWS")
	case len(in.Email) < 6 || len(in.Email) > 64 || !emailPattern.MatchString(in.Email):
		return nil, usageErrorf("--email %q: want an email address of 6 to 64 characters, such as aws+sandbox@example.com", in.Email)
	case in.OU != "" && !orgscan.ValidParentID(in.OU):
		return nil, usageErrorf("--ou %q: want an OU ID (ou-xxxx-xxxxxxxx) or a root ID (r-xxxx)", in.OU)
	case len(in.Tags) > maxTags:
		return nil, usageErrorf("--tag given %d times: an account takes at most %d tags", len(in.Tags), maxTags)
	}
	if err := checkTimeout(in.Timeout); err != nil {
		return nil, err
	}
	var tags []provision.Tag
	seen := map[string]bool{}
	for _, kv := range in.Tags {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || k == "":
			return nil, usageErrorf("--tag %q: want KEY=VALUE", kv)
		case len(k) > 128 || len(v) > 256:
			return nil, usageErrorf("--tag %q: keys take at most 128 characters, values 256", kv)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, usageErrorf("--tag %q: the aws: prefix is reserved for AWS", kv)
		case seen[k]:
			return nil, usageErrorf("--tag %q: key %s given twice", kv, k)
		}
		seen[k] = true
		tags = append(tags, provision.Tag{Key: k, Value: v})
	}
	return tags, nil
}

// AccountCreateCommand runs `rootctl account create`.
func AccountCreateCommand(ctx context.Context, in AccountCreateInput, deps *Deps) error {
	tags, err := in.check()
	if err != nil {
		return err
	}
	root := in.Root
	if strings.TrimSpace(root.Reason) == "" {
		root.Reason = "new member account " + in.Name + " (rootctl account create)"
	}
	run, lister, err := startHookRun(ctx, deps, in.AWS, root)
	if err != nil {
		return err
	}
	defer run.close()
	if in.OU != "" {
		if err := lister.CheckParent(ctx, in.OU); errors.Is(err, orgscan.ErrUnknownOU) {
			return usageErrorf("--ou %v, so no account was created (list OUs with: aws organizations list-organizational-units-for-parent)", err)
		} else if err != nil {
			return fmt.Errorf("checking --ou, so no account was created: %v", orgrun.ErrorText(err))
		}
	}
	create := auditlog.Entry{Action: "organizations:CreateAccount", Target: in.Email}
	if err := run.journal.RecordStarted(create); err != nil {
		return fmt.Errorf("no account was created, as the audit log could not record the request: %w", err)
	}
	creation, err := provision.Create(ctx, run.env.AWS, provision.Request{Name: in.Name, Email: in.Email, Tags: tags})
	create.RequestID, create.Outcome, create.Error = creation.RequestID, outcomeOf(err), errString(err)
	run.journal.Record(create)
	if err != nil {
		return fmt.Errorf("creating the account: %s", orgrun.ErrorText(err))
	}
	run.io.Infof("Creating account %s (request %s)…\n", in.Name, creation.RequestID)

	report := newHookReport(run, lister.Org.ID)
	report.Account.Name, report.Account.Email = in.Name, in.Email
	waitCtx, cancel := provision.WithTimeout(ctx, in.Timeout)
	defer cancel()
	created, err := provision.WaitCreated(waitCtx, run.env.AWS, creation.RequestID, nil)
	if created.RequestID == "" {
		created = creation
	}
	report.Creation = &created
	switch {
	case errors.Is(err, provision.ErrTimeout):
		report.Status = orgrun.StatusTimeout
		report.Error = fmt.Sprintf("the account creation is still %s after %v (follow it with: aws organizations describe-create-account-status --create-account-request-id %s)", created.State, in.Timeout, created.RequestID)
		return logFailedOr(run, finishHook(deps.IO, in.Output, report))
	case err != nil:
		report.Fail(ctx, err)
		return logFailedOr(run, finishHook(deps.IO, in.Output, report))
	case created.State != provision.Succeeded:
		report.Status, report.Error = orgrun.StatusNotProvisioned, "the account creation "+creationFailure(created)+creationHint(created)
		return logFailedOr(run, finishHook(deps.IO, in.Output, report))
	}
	run.io.Infof("Created account %s.\n", created.AccountID)
	report.Account.ID = created.AccountID
	if in.OU != "" {
		move := auditlog.Entry{Account: created.AccountID, Action: "organizations:MoveAccount", Target: in.OU}
		sent := false
		_, err := provision.Move(ctx, run.env.AWS, created.AccountID, in.OU, func(string) error {
			err := run.journal.RecordStarted(move)
			sent = err == nil
			return err
		})
		if sent {
			move.Outcome, move.Error = outcomeOf(err), errString(err)
			run.journal.Record(move)
		}
		if err != nil {
			report.Status, report.ErrorCode, report.Error = orgrun.StatusError, awserr.Code(err), "moving the account to "+in.OU+": "+orgrun.ErrorText(err)
			return logFailedOr(run, finishHook(deps.IO, in.Output, report))
		}
		report.Moved = in.OU
	}
	run.check(ctx, waitCtx, deps, lister, &report.Checked, created.AccountID, in.Remediate)
	return logFailedOr(run, finishHook(deps.IO, in.Output, report))
}

// logFailedOr is err, unless the audit log failed: then the run stopped
// starting changes, and that is what its error says.
func logFailedOr(run *rootRun, err error) error {
	if lerr := run.journal.Failed(); lerr != nil {
		return fmt.Errorf("the audit log could not be written, so no further change was started: %w", lerr)
	}
	return err
}

func creationHint(c provision.Creation) string {
	switch c.FailureReason {
	case "EMAIL_ALREADY_EXISTS":
		return " (every AWS account needs its own root email address: pass another --email)"
	case "ACCOUNT_LIMIT_EXCEEDED":
		return " (the organization is at its account quota: ask AWS Support to raise it)"
	case "INVALID_EMAIL", "INVALID_ADDRESS":
		return " (check --email)"
	}
	return ""
}

func outcomeOf(err error) string {
	if err != nil {
		return auditlog.Failed
	}
	return auditlog.Success
}

func errString(err error) string {
	if err != nil {
		return orgrun.ErrorText(err)
	}
	return ""
}
