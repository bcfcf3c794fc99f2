package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/inputfile"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/preflight"
	"github.com/rootctl/rootctl/unlock"
)

// UnlockInput holds the options of `rootctl unlock s3|sqs`.
type UnlockInput struct {
	AWS        AWSOptions
	Root       RootOptions
	Service    string // s3 or sqs
	Account    string
	Name       string // bucket name, or queue name or URL
	PolicyFile string
	Delete     bool
	Restore    string // a backup file to put back
	Force      bool
	BackupDir  string
	Output     string
	DryRun     bool
	Yes        bool
	// NoPreflight skips the check of the account's guardrails.
	NoPreflight bool
}

// UnlockReport is `rootctl unlock … -o json`.
type UnlockReport struct {
	Header
	Account      string          `json:"account_id"`
	Resource     unlock.Resource `json:"resource"`
	Task         string          `json:"task_policy"`
	PolicyBefore *string         `json:"policy_before"`
	Analysis     unlock.Analysis `json:"analysis"`
	Action       string          `json:"action"` // delete, replace or restore
	PolicyAfter  *string         `json:"policy_after"`
	DryRun       bool            `json:"dry_run"`
	Backup       string          `json:"backup,omitempty"`
	RequestID    string          `json:"request_id,omitempty"`
	Verified     bool            `json:"verified"`
	AuditLog     string          `json:"audit_log"`
}

func unlockCommand(deps *Deps) *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "repair an S3 bucket or SQS queue whose resource policy denies everyone",
		Description: `Reads the policy with a root session of the owning account (S3UnlockBucketPolicy
or SQSUnlockQueuePolicy), shows it and names the statements that lock everyone
out. A policy that is not a lockout is refused unless --force: root sessions are
for lockouts, not routine edits. Before changing anything the current policy is
written to a backup file (0600, synced), whose path is printed; --restore FILE
puts a backup back. The result is read back to verify it.

Examples:
   rootctl unlock s3 --sim --account 444444444402 --bucket dev-tools-artifacts --reason "INC-7" --yes
   rootctl unlock sqs --sim --account 444444444403 --queue dev-events-orders --reason "INC-8" --yes`,
		Subcommands: []*cli.Command{unlockSubcommand(deps, unlock.S3), unlockSubcommand(deps, unlock.SQS)},
	}
}

func unlockSubcommand(deps *Deps, service string) *cli.Command {
	in := UnlockInput{Service: service}
	resource, what, example := "bucket", "`BUCKET` name", `   rootctl unlock s3 --sim --account 444444444402 --bucket dev-tools-artifacts --reason "INC-7 deny-all pushed by mistake" --yes
   rootctl unlock s3 --account 111122223333 --bucket my-bucket --policy-file fixed.json --reason "INC-7" --dry-run
   rootctl unlock s3 --restore ~/.local/state/rootctl/backups/s3-111122223333-my-bucket-20261123T101500Z.json --reason "INC-7 roll back"`
	if service == unlock.SQS {
		resource, what, example = "queue", "queue `NAME` or URL", `   rootctl unlock sqs --sim --account 444444444403 --queue dev-events-orders --reason "INC-8" --yes
   rootctl unlock sqs --account 111122223333 --queue https://sqs.eu-west-1.amazonaws.com/111122223333/orders --policy-file fixed.json --reason "INC-8"`
	}
	return &cli.Command{
		Name:        service,
		Usage:       fmt.Sprintf("unlock an %s %s's policy (%s)", strings.ToUpper(service), resource, unlock.Task(service).Name),
		Description: "Examples:\n" + example,
		Flags: append(append(append(append(awsFlags(), rootFlags(&in.Root)...), changeFlags(&in.DryRun, &in.Yes)...),
			&cli.StringFlag{Name: "account", Destination: &in.Account, Usage: "the member `ACCOUNT_ID` that owns the " + resource},
			&cli.StringFlag{Name: resource, Destination: &in.Name, Usage: "the " + what},
			&cli.StringFlag{Name: "policy-file", Destination: &in.PolicyFile, Usage: "replace the policy with the one in `FILE` (default: delete the policy, the documented fix)"},
			&cli.BoolFlag{Name: "delete", Destination: &in.Delete, Usage: "delete the policy (the default)"},
			&cli.StringFlag{Name: "restore", Destination: &in.Restore, Usage: "put back the policy saved in backup `FILE`"},
			&cli.BoolFlag{Name: "force", Destination: &in.Force, Usage: "change a policy even though it does not lock everyone out"},
			&cli.StringFlag{Name: "backup-dir", Destination: &in.BackupDir, Usage: "write the backup in `DIR` (default: backups/ in rootctl's state directory)"},
			preflightFlag(&in.NoPreflight),
		), outputFlags(nil, jobFormats...)...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			in.AWS, in.Output = awsOptions(c), c.String("output")
			return UnlockCommand(c.Context, in, deps)
		},
	}
}

var (
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	queueNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)
)

// maxPolicyFile bounds --policy-file: S3 bucket policies may be 20 KB.
const maxPolicyFile = 20 << 10

// unlockPlan is what the command will do, decided before any session.
type unlockPlan struct {
	action string  // delete, replace, restore
	next   *string // the policy to write; nil deletes
}

// check validates every input and reads the files, before any call.
func (in *UnlockInput) check() (unlockPlan, error) {
	flag := "--bucket"
	if in.Service == unlock.SQS {
		flag = "--queue"
	}
	if err := checkOutput(in.Output, jobFormats...); err != nil {
		return unlockPlan{}, err
	}
	if err := in.Root.check(); err != nil {
		return unlockPlan{}, err
	}
	n := 0
	for _, set := range []bool{in.PolicyFile != "", in.Delete, in.Restore != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return unlockPlan{}, usageErrorf("--policy-file, --delete and --restore conflict: pass one")
	}
	if in.Restore != "" {
		b, err := unlock.ReadBackup(in.Restore)
		if err != nil {
			return unlockPlan{}, usageErrorf("--restore: %v", err)
		}
		if b.Service != in.Service {
			return unlockPlan{}, usageErrorf("--restore: %s is a backup of an %s policy (run: rootctl unlock %s --restore …)", in.Restore, b.Service, b.Service)
		}
		if (in.Account != "" && in.Account != b.Account) || (in.Name != "" && in.Name != b.Name && in.Name != b.URL) {
			return unlockPlan{}, usageErrorf("--restore: the backup is of %s in account %s, not what --account and %s name (drop them, or name the backup's)", b.Resource, b.Account, flag)
		}
		if b.Region != "" && !regionPattern.MatchString(b.Region) {
			return unlockPlan{}, usageErrorf("--restore: the backup %s names region %q, which is not an AWS region", in.Restore, b.Region)
		}
		if b.Service == unlock.SQS {
			// The queue is addressed by name in the backup's account and
			// Region (GetQueueUrl), as --queue NAME is; its URL must agree.
			r, err := unlock.QueueFromURL(b.URL)
			if err != nil || r.Account != b.Account || r.Name != b.Name || (r.Region != "" && r.Region != b.Region) {
				return unlockPlan{}, usageErrorf("--restore: the backup %s is of queue %s in account %s (%s), which its queue_url %s does not name; the file was edited: use a backup rootctl wrote", in.Restore, b.Name, b.Account, b.Region, b.URL)
			}
			if in.AWS.Region != "" && b.Region != "" && in.AWS.Region != b.Region {
				return unlockPlan{}, usageErrorf("--restore: the backup is of a queue in %s, not --region %s (drop --region)", b.Region, in.AWS.Region)
			}
		}
		in.Account, in.Name = b.Account, b.Name
		if in.AWS.Region == "" && b.Region != "" {
			in.AWS.Region = b.Region
		}
		// The backup names the target, and is held to what the flags are:
		// an edited or foreign file cannot aim the root session at a name
		// AWS would not take.
		if err := in.checkTarget(flag); err != nil {
			return unlockPlan{}, usageErrorf("--restore: the backup %s names a target rootctl would refuse: %v", in.Restore, errors.Unwrap(err))
		}
		return unlockPlan{action: "restore", next: b.Policy}, nil
	}
	if err := in.checkTarget(flag); err != nil {
		return unlockPlan{}, err
	}
	if in.PolicyFile == "" {
		return unlockPlan{action: "delete"}, nil
	}
	policy, err := readPolicyFile(in.PolicyFile)
	if err != nil {
		return unlockPlan{}, err
	}
	return unlockPlan{action: "replace", next: &policy}, nil
}

// checkTarget validates the account and the bucket or queue (flag names
// its flag) that in names.
func (in *UnlockInput) checkTarget(flag string) error {
	switch {
	case in.Account == "":
		return usageErrorf("--account is required: the 12-digit ID of the account that owns the %s", in.Service)
	case !awserr.ValidAccountID(in.Account):
		return usageErrorf("--account %q: want a 12-digit account ID", in.Account)
	case in.Name == "":
		return usageErrorf("%s is required", flag)
	}
	if in.Service == unlock.S3 && !bucketNamePattern.MatchString(in.Name) {
		return usageErrorf("--bucket %q: want an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)", in.Name)
	}
	if in.Service == unlock.SQS {
		if strings.Contains(in.Name, "://") {
			if !strings.HasPrefix(in.Name, "https://") {
				return usageErrorf("--queue %q: want an https:// queue URL (as aws sqs get-queue-url prints it), or the queue name", in.Name)
			}
			r, err := unlock.QueueFromURL(in.Name)
			if err != nil {
				return usageErrorf("--queue: %v", err)
			}
			if r.Account != in.Account {
				return usageErrorf("--queue URL is in account %s, not --account %s", r.Account, in.Account)
			}
		} else if !queueNamePattern.MatchString(in.Name) {
			return usageErrorf("--queue %q: want a queue name (up to 80 letters, digits, - and _, or .fifo) or its URL", in.Name)
		}
	}
	return nil
}

func readPolicyFile(path string) (string, error) {
	data, err := inputfile.Read(path, maxPolicyFile)
	if errors.Is(err, inputfile.ErrTooLarge) {
		return "", usageErrorf("--policy-file %s is over %d KB, the bucket policy limit", path, maxPolicyFile>>10)
	}
	if err != nil {
		return "", usageErrorf("--policy-file: %v", err)
	}
	if err := unlock.Validate(string(data)); err != nil {
		return "", usageErrorf("--policy-file %s: %v", path, err)
	}
	return string(data), nil
}

// UnlockCommand runs `rootctl unlock s3|sqs`.
func UnlockCommand(ctx context.Context, in UnlockInput, deps *Deps) error {
	plan, err := in.check()
	if err != nil {
		return err
	}
	if err := canConfirm(deps.IO, in.Yes, in.DryRun); err != nil {
		return err
	}
	task := unlock.Task(in.Service)
	if plan.action == "replace" && !in.Force {
		if a, _ := unlock.Analyze(in.Service, "", *plan.next); a.Lockout() {
			return usageErrorf("--policy-file %s would lock everyone out too (%s); fix it, or pass --force", in.PolicyFile, a.Locks[0])
		}
	}
	backupDir := in.BackupDir
	if backupDir == "" {
		state, err := stateDir(deps)
		if err != nil {
			return err
		}
		backupDir = filepath.Join(state, "backups")
	}
	if err := unlock.CheckBackupDir(backupDir); err != nil {
		return usageErrorf("%v, so nothing was asked of AWS (pass --backup-dir DIR)", err)
	}
	if !in.DryRun {
		// Held from before the policy is read to show until the run ends,
		// so that another run's change cannot slip in between.
		locks, err := takeLocks(deps, "unlock "+in.Service, []lockTarget{resourceLock(in.Service, in.Account, in.Name)})
		if err != nil {
			return err
		}
		defer locks.release()
	}
	run, err := startAccountRun(ctx, deps, in.AWS, in.Root, in.Account)
	if err != nil {
		return err
	}
	defer run.close()
	if err := unlockPreflight(ctx, deps.IO, run, in, plan); err != nil {
		return err
	}
	lease := run.assumer.Lease(in.Account, task)
	st, err := unlock.Inspect(ctx, lease, in.Service, in.Account, in.Name)
	if errors.Is(err, unlock.ErrNotFound) {
		return usageErrorf("%v (check --account and the name; list buckets with: rootctl locks --accounts %s)", err, in.Account)
	}
	if err != nil {
		return fmt.Errorf("reading the policy: %s", orgrun.ErrorText(err))
	}
	report := &UnlockReport{Header: newHeader(run.org.ID, run.env.Now()), Account: in.Account, Resource: st.Resource, Task: task.Name, PolicyBefore: st.Policy,
		Analysis: st.Analysis, Action: plan.action, PolicyAfter: plan.next, DryRun: in.DryRun, AuditLog: run.log.Path()}

	w := deps.IO.Out
	if in.Output == "json" {
		w = deps.IO.ErrOut
	}
	showPolicy(w, st)
	switch {
	case plan.action == "restore":
		if a, _ := unlock.Analyze(in.Service, st.Resource.ARN(), deref(plan.next)); a.Lockout() {
			printf(w, "Warning: the policy being restored locks everyone out: %s\n", a.Locks[0])
		}
	case st.Policy == nil && plan.action == "delete":
		return fmt.Errorf("%s in account %s has no policy, so nothing is locked; nothing was changed", st.Resource, in.Account)
	case !st.Analysis.Lockout() && !in.Force:
		return fmt.Errorf("%s's policy does not lock everyone out: root sessions are for lockouts, not routine edits; change it with your usual role, or pass --force; nothing was changed", st.Resource)
	}
	printf(w, "Plan (task policy %s, account %s):\n", task.Name, in.Account)
	var change string // also the question of the typed confirmation
	target := fmt.Sprintf("%s in account %s", st.Resource, in.Account)
	switch plan.action {
	case "delete":
		change = fmt.Sprintf("delete the policy of %s", target)
	case "replace":
		change = fmt.Sprintf("replace the policy of %s with %s", target, in.PolicyFile)
	case "restore":
		change = fmt.Sprintf("restore the policy of %s from %s", target, in.Restore)
	}
	printf(w, "  %s\n", change)
	printf(w, "  back up the current policy to %s first\n", backupDir)
	if in.DryRun {
		deps.IO.Infof("Dry run: nothing was changed.\n")
		return export(deps.IO, in.Output, false, report)
	}
	if err := confirm(deps.IO, in.Yes, 1, change); err != nil {
		return err
	}
	// The change is recorded ahead (started, naming the backup) and its
	// outcome as soon as AWS answers, before the read-back.
	res, applyErr := unlock.Apply(ctx, lease, st, plan.next, backupDir, run.log.Reason(), run.env.Now(), unlock.Recorded(run.journal, lease, st, plan.next))
	report.Backup, report.RequestID, report.Verified, report.PolicyAfter = res.Backup, res.RequestID, res.Verified, res.After
	if res.Backup != "" {
		printf(deps.IO.ErrOut, "Backup of the previous policy: %s (undo with: rootctl unlock %s --restore %s --reason …)\n", res.Backup, in.Service, res.Backup)
	}
	if applyErr != nil {
		if errors.Is(applyErr, unlock.ErrChanged) {
			return applyErr
		}
		if errors.Is(applyErr, context.Canceled) {
			return &exitError{code: ExitCancelled, err: fmt.Errorf("interrupted: %s is unchanged", st.Resource)}
		}
		return fmt.Errorf("unlocking %s: %s", st.Resource, orgrun.ErrorText(applyErr))
	}
	if err := export(deps.IO, in.Output, false, report); err != nil {
		return err
	}
	if err := run.journal.Failed(); err != nil {
		return fmt.Errorf("the change was made but the audit log could not be written: %w", err)
	}
	if ctx.Err() != nil {
		// Ctrl-C came while the change was in flight; it was let finish.
		// Exit 130 as for any interrupted run, but say it was made.
		return &exitError{code: ExitCancelled, err: fmt.Errorf("interrupted, but the change WAS made and verified: %s %s; the previous policy is in %s",
			pastTense[plan.action], st.Resource, res.Backup)}
	}
	return nil
}

var pastTense = map[string]string{"delete": "deleted the policy of", "replace": "replaced the policy of", "restore": "restored the policy of"}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// showPolicy prints the policy as found, indented, and its analysis.
func showPolicy(w io.Writer, st *unlock.State) {
	if st.Policy == nil {
		printf(w, "%s in account %s has no policy.\n", st.Resource, st.Resource.Account)
		return
	}
	printf(w, "Current policy of %s in account %s:\n", st.Resource, st.Resource.Account)
	// Indented, the policy's line breaks are json.Indent's; each line is
	// escaped, since JSON strings may hold raw bidi and zero-width
	// characters. Text that is not JSON is printed escaped on one line.
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(*st.Policy), "  ", "  ") == nil {
		printf(w, "  %s\n", lines(strings.Split(buf.String(), "\n")...))
	} else {
		printf(w, "  %s\n", *st.Policy)
	}
	if !st.Analysis.Lockout() {
		printf(w, "Analysis: no statement locks everyone out.\n")
		return
	}
	printf(w, "Analysis: this policy locks everyone out:\n")
	for _, l := range st.Analysis.Locks {
		printf(w, "  - %s\n", l)
	}
}

func (r *UnlockReport) render(s *screen) error {
	if r.DryRun {
		return nil
	}
	verified := "no"
	if r.Verified {
		verified = "yes (read back)"
	}
	s.printf("Done: %s of %s; verified: %s; request ID %s.\n", r.Action, r.Resource, verified, r.RequestID)
	return nil
}

// unlockPreflight checks, before the root session, that no SCP or RCP
// refuses what the unlock will call on the bucket or queue: a blocked
// account is an error naming the guardrail and its fix, and nothing is
// asked of the account. A check that cannot read or decide only warns.
func unlockPreflight(ctx context.Context, io *IOStreams, run *rootRun, in UnlockInput, plan unlockPlan) error {
	if in.NoPreflight {
		return nil
	}
	res := &preflight.Resource{Service: in.Service, Name: in.Name}
	actions := []string{"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"}
	if in.Service == unlock.S3 {
		write := "s3:PutBucketPolicy"
		if plan.next == nil {
			write = "s3:DeleteBucketPolicy"
		}
		actions = []string{"s3:ListAllMyBuckets", "s3:GetBucketPolicy", write}
	} else if r, err := unlock.QueueFromURL(in.Name); err == nil {
		res.Name, res.Region = r.Name, r.Region
	}
	c, _, err := newChecker(ctx, run.env.AWS, run.org, run.caller, orgscan.Selection{Accounts: []string{in.Account}})
	if err != nil {
		printf(io.ErrOut, "Warning: account %s is attempted without the pre-flight check: %v\n", in.Account, err)
		return nil
	}
	v, err := c.Check(ctx, preflight.Subject{Account: in.Account, Task: unlock.Task(in.Service), Actions: actions, Resource: res})
	switch {
	case err != nil && ctx.Err() == nil:
		printf(io.ErrOut, "Warning: account %s is attempted without the pre-flight check: %v\n", in.Account, err)
	case err != nil:
		return &exitError{code: ExitCancelled, err: fmt.Errorf("interrupted: nothing was asked of account %s", in.Account)}
	case v.Verdict == preflight.Blocked:
		return errBlocked(in.Account, v)
	case v.Verdict == preflight.Unknown:
		printf(io.ErrOut, "Warning: a guardrail may refuse this: %s\n", v.Causes[0].Summary())
	}
	return nil
}
