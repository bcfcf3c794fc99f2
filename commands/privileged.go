package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awsconfig"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
	"github.com/rootctl/rootctl/orgsetup"
	"github.com/rootctl/rootctl/rootsession"
)

// maxReason bounds --reason: a sentence or a ticket reference, not a file.
const maxReason = 512

// RootOptions are the flags of every command that acts as root.
type RootOptions struct {
	Reason   string
	AuditLog string // "" for the default in the state directory
	// AuditLogSet says --audit-log was given, so that an empty value is
	// refused rather than read as the default.
	AuditLogSet bool
}

// rootFlags are --reason and --audit-log.
func rootFlags(o *RootOptions) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "reason", EnvVars: []string{"ROOTCTL_REASON"}, Destination: &o.Reason, Category: "Record",
			Usage: "why root access is needed: a sentence or ticket ID, recorded with every action (`TEXT`, required)"},
		&cli.StringFlag{Name: "audit-log", Destination: &o.AuditLog, Category: "Record",
			Action: func(*cli.Context, string) error { o.AuditLogSet = true; return nil },
			Usage:  "append the record of root actions to `FILE` (default: audit.log in rootctl's state directory)"},
	}
}

// changeFlags are --dry-run and --yes, for commands that change accounts.
func changeFlags(dryRun, yes *bool) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Destination: dryRun, Usage: "show the plan and change nothing"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Destination: yes, Usage: "do not ask for confirmation"},
	}
}

// check validates the options before anything is called.
func (o RootOptions) check() error {
	r := strings.TrimSpace(o.Reason)
	switch {
	case o.AuditLogSet && strings.TrimSpace(o.AuditLog) == "":
		return usageErrorf("--audit-log is empty: name a file, or leave the flag out for the default in rootctl's state directory")
	case r == "":
		return usageErrorf("--reason is required: say why root access is needed, e.g. --reason \"INC-1234 unlock bucket\" (or set ROOTCTL_REASON)")
	case len(r) > maxReason:
		return usageErrorf("--reason is %d characters: keep it under %d (a sentence or a ticket ID)", len(r), maxReason)
	case strings.IndexFunc(r, unicode.IsControl) >= 0:
		return usageErrorf("--reason has control characters or line breaks: pass one line of text")
	}
	return nil
}

// stateDir is rootctl's state directory: $XDG_STATE_HOME/rootctl, else
// ~/.local/state/rootctl (the XDG Base Directory default).
func stateDir(deps *Deps) (string, error) {
	if deps.StateDir != "" {
		return deps.StateDir, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "rootctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding rootctl's state directory: %w (set XDG_STATE_HOME, or pass --audit-log and --backup-dir)", err)
	}
	return filepath.Join(home, ".local", "state", "rootctl"), nil
}

// auditFileWrapper stands in for the opened audit log file, in tests
// (Deps.auditFile).
type auditFileWrapper = func(*os.File) auditlog.File

// rootRun is one run of a command that acts as root: its AWS environment,
// the caller, the audit log (written ahead, through journal) and the
// assumer, which records every AssumeRoot in the log.
type rootRun struct {
	env     *Env
	io      *IOStreams
	log     *auditlog.Log
	journal *orgrun.Journal
	assumer *rootsession.Assumer
	caller  string
	org     orgscan.Organization // once read (startOrgRun)
}

// startRootRun opens the audit log, loads the AWS configuration and reads
// the caller's identity. Nothing has been asked of any member account yet.
// Every AssumeRoot of the run is recorded ahead: no session is asked for
// unless its started entry is on disk, and none is used unless its outcome
// is too.
func startRootRun(ctx context.Context, deps *Deps, awsOpts AWSOptions, o RootOptions) (*rootRun, error) {
	path := o.AuditLog
	if path == "" {
		state, err := stateDir(deps)
		if err != nil {
			return nil, err
		}
		path = auditlog.DefaultPath(state)
	}
	f, err := auditlog.OpenFile(path)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("%w (pass --audit-log FILE)", err)}
	}
	var file auditlog.File = f
	if deps.auditFile != nil {
		file = deps.auditFile(f)
	}
	env, err := deps.LoadAWS(ctx, awsOpts, deps.IO)
	if err != nil {
		file.Close()
		return nil, err
	}
	caller, err := awsconfig.CallerARN(ctx, env.AWS)
	if err != nil {
		file.Close()
		env.Close()
		return nil, fmt.Errorf("checking the caller's credentials: %s (check --profile, or run: aws sts get-caller-identity)", awserr.Describe(err))
	}
	log := auditlog.New(file, path, caller, strings.TrimSpace(o.Reason), env.Now)
	r := &rootRun{env: env, io: deps.IO, log: log, journal: orgrun.NewJournal(log), caller: caller}
	r.assumer = newAssumer(env.AWS, env.Now)
	r.journal.Sessions(r.assumer)
	return r, nil
}

// startOrgRun starts a root run and reads the organization.
func startOrgRun(ctx context.Context, deps *Deps, awsOpts AWSOptions, o RootOptions) (*rootRun, *orgscan.Lister, error) {
	run, err := startRootRun(ctx, deps, awsOpts, o)
	if err != nil {
		return nil, nil, err
	}
	lister, err := run.lister(ctx)
	if err != nil {
		run.close()
		return nil, nil, err
	}
	run.org = lister.Org
	return run, lister, nil
}

// startAccountRun starts a root run for one member account named on the
// command line (credentials, exec, unlock) and checks it before any
// session: an ID outside the organization, the management account or an
// account that is not ACTIVE is a usage error, as it is for the
// multi-account commands.
func startAccountRun(ctx context.Context, deps *Deps, awsOpts AWSOptions, o RootOptions, account string) (*rootRun, error) {
	run, lister, err := startOrgRun(ctx, deps, awsOpts, o)
	if err != nil {
		return nil, err
	}
	t, err := lister.Describe(ctx, account)
	switch {
	case errors.Is(err, orgscan.ErrNotMember):
		err = usageErrorf("--account %s is not an account of organization %s: check the ID (list them with: aws organizations list-accounts)", account, lister.Org.ID)
	case err != nil:
		err = fmt.Errorf("reading account %s: %s", account, awserr.Describe(err))
	case t.Skip != "":
		err = usageErrorf("--account %s: %s, so no root session can be had in it", account, t.Skip)
	}
	if err != nil {
		run.close()
		return nil, err
	}
	return run, nil
}

// lister reads the organization for a multi-account command.
func (r *rootRun) lister(ctx context.Context) (*orgscan.Lister, error) {
	l, err := orgscan.NewLister(ctx, r.env.AWS)
	if err != nil {
		return nil, fmt.Errorf("reading the organization: %s (run rootctl from the management account or the IAM delegated administrator; check: rootctl status)", awserr.Describe(err))
	}
	return l, nil
}

// orgRun is the organization-wide run of a multi-account command.
func (r *rootRun) orgRun(lister *orgscan.Lister, sel orgscan.Selection, concurrency int) *orgrun.Run {
	return &orgrun.Run{Lister: lister, Assumer: r.assumer, Selection: sel, Concurrency: concurrency, Clock: r.env.Now, Journal: r.journal}
}

// newAssumer returns the run's Assumer: on the run's clock, and telling an
// organization-wide refusal from an account's by the organization's
// setup (orgsetup.Prerequisites).
func newAssumer(cfg aws.Config, now func() time.Time) *rootsession.Assumer {
	a := rootsession.NewAssumer(cfg)
	a.Clock = now
	a.Prerequisites = orgsetup.Prerequisites(cfg)
	return a
}

// close closes the log, says where it is, and stops the simulator.
func (r *rootRun) close() {
	if r.log.Entries() > 0 {
		r.io.Infof("Audit log: %s (%d entries)\n", r.log.Path(), r.log.Entries())
	}
	r.log.Close()
	r.env.Close()
}
