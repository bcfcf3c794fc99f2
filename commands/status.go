package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/orgsetup"
)

// StatusInput holds the options of `rootctl status`.
type StatusInput struct {
	AWS    AWSOptions
	Output string
}

// StatusReport is `rootctl status -o json`.
type StatusReport struct {
	Header
	*orgsetup.Setup
	CanAssumeRoot bool           `json:"can_assume_root"`
	Missing       []orgsetup.Fix `json:"missing"`
}

func statusCommand(deps *Deps) *cli.Command {
	var in StatusInput
	return &cli.Command{
		Name:  "status",
		Usage: "show what centralized root access needs, what is on, and how to fix what is not",
		Description: `Reads the caller's identity, the organization, trusted access for
iam.amazonaws.com, the RootCredentialsManagement and RootSessions features and the
IAM delegated administrators, and prints the command that fixes each missing piece.

Examples:
   rootctl status --sim
   rootctl status --profile org-management -o json`,
		Flags: append(awsFlags(), outputFlags(nil, "table", "json")...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			in.AWS, in.Output = awsOptions(c), c.String("output")
			return StatusCommand(c.Context, in, deps)
		},
	}
}

// StatusCommand runs `rootctl status`.
func StatusCommand(ctx context.Context, in StatusInput, deps *Deps) error {
	if err := checkOutput(in.Output, "table", "json"); err != nil {
		return err
	}
	env, setup, err := loadSetup(ctx, in.AWS, deps)
	if err != nil {
		return err
	}
	defer env.Close()
	report := &StatusReport{Header: newHeader(setup.OrganizationID, env.Now()), Setup: setup, CanAssumeRoot: setup.CanAssumeRoot(), Missing: setup.Fixes()}
	if report.Missing == nil {
		report.Missing = []orgsetup.Fix{}
	}
	return export(deps.IO, in.Output, false, report)
}

// loadSetup loads the AWS configuration and reads the organization's
// centralized-root-access setup; the caller closes the Env.
func loadSetup(ctx context.Context, opts AWSOptions, deps *Deps) (*Env, *orgsetup.Setup, error) {
	env, err := deps.LoadAWS(ctx, opts, deps.IO)
	if err != nil {
		return nil, nil, err
	}
	setup, err := orgsetup.ReadSetup(ctx, env.AWS)
	if errors.Is(err, orgsetup.ErrNoOrganization) {
		err = fmt.Errorf("%w; centralized root access needs AWS Organizations (run rootctl with the management account's credentials)", err)
	}
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	return env, setup, nil
}
