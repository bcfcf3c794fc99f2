// Package commands is rootctl's command line: one file per command, each
// with its input struct, the registration of its flags, their validation,
// its prompts and the choice of renderer, and a plain XCommand function
// that calls rootctl's packages. Reports render themselves (the *report.go
// files) through one output layer (output.go), and exit codes come from
// one table (errors.go). Only this package knows about flags and
// terminals; it makes no AWS call of its own.
package commands

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"
)

// appDescription is `rootctl --help`'s text, with the exit codes of
// exitCodes.
var appDescription = `rootctl governs the root user of every member account of an AWS organization
through centralized root access (sts:AssumeRoot with task-scoped policies).
Run it from the management account or the IAM delegated administrator.

Try it with no AWS account: rootctl audit --sim

` + exitCodesHelp() + `

Commands that act as root (delete, recovery, unlock, locks, credentials, exec)
need --reason and record every action in an audit log.`

// NewApp builds rootctl's command line.
func NewApp(deps *Deps) *cli.App {
	if deps.LoadAWS == nil {
		deps.LoadAWS = guardCredentialProcess(deps, loadAWS)
	}
	app := &cli.App{
		Name:                 "rootctl",
		Usage:                "govern the root user of every AWS Organizations member account",
		Description:          appDescription,
		Version:              currentVersion().Version,
		Reader:               deps.IO.In,
		Writer:               deps.IO.Out,
		ErrWriter:            deps.IO.ErrOut,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
		Commands: []*cli.Command{
			statusCommand(deps),
			enableCommand(deps),
			auditCommand(deps),
			preflightCommand(deps),
			deleteCommand(deps),
			recoveryCommand(deps),
			unlockCommand(deps),
			locksCommand(deps),
			credentialsCommand(deps),
			execCommand(deps),
			accountCommand(deps),
			hookCommand(deps),
			activityCommand(deps),
			completionCommand(),
			simCommand(deps),
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				printVersion(c)
				return nil
			}
			if c.NArg() > 0 {
				return unknownCommand(c.Args().First(), c.App.Commands, "rootctl")
			}
			return cli.ShowAppHelp(c)
		},
	}
	app.OnUsageError = onUsageError
	// urfave/cli mutates its package-level HelpFlag and VersionFlag on every
	// parse; each app gets flags of its own so that apps never share state
	// (the same names, so urfave's help handling still finds them).
	app.HideHelp, app.HideVersion = true, true
	app.Flags = append(app.Flags, helpFlag(), &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"})
	app.Commands = append(app.Commands, &cli.Command{
		Name: "help", Usage: "show help for rootctl or a command", ArgsUsage: "[COMMAND]", HideHelp: true,
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				printVersion(c)
				return nil
			}
			switch {
			case c.NArg() > 1:
				return usageErrorf("unexpected %s: help takes one command (run: rootctl %s --help)", argumentsText(c.Args().Tail()), strings.Join(c.Args().Slice(), " "))
			case c.NArg() == 1 && findCommand(c.App.Commands, c.Args().First()) == nil:
				return unknownCommand(c.Args().First(), c.App.Commands, "rootctl")
			case c.NArg() == 1:
				return cli.ShowCommandHelp(c, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	})
	for _, cmd := range app.Commands {
		prepare(cmd, deps.IO)
	}
	return app
}

func helpFlag() cli.Flag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}
}

// prepare gives a command (and its subcommands) rootctl's usage-error
// handling, a help flag of its own and --quiet.
func prepare(cmd *cli.Command, io *IOStreams) {
	cmd.OnUsageError = onUsageError
	if !cmd.HideHelp {
		cmd.HideHelp = true
		cmd.Flags = append(cmd.Flags, helpFlag(),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress display and no notes on stderr (errors and warnings still appear)"})
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if c.Bool("quiet") {
				io.Quiet = true
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		cmd.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return unknownCommand(c.Args().First(), c.Command.Subcommands, strings.TrimSpace(c.Command.HelpName))
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
	for _, sub := range cmd.Subcommands {
		prepare(sub, io)
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := "rootctl"
	if c.Command != nil && c.Command.Name != "" {
		name = strings.TrimSpace(c.Command.HelpName)
	}
	return usageErrorf("%v (run: %s --help)", err, name)
}

// Run runs the command line and returns the process exit code. Errors are
// printed once, here, as "rootctl: what failed". The command's flags are
// read wherever they stand among its arguments (see reorderArgs).
func Run(ctx context.Context, args []string, deps *Deps) int {
	app := NewApp(deps)
	args, err := reorderArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err != nil {
		if !silent(err) {
			printf(deps.IO.ErrOut, "rootctl: %s\n", err)
		}
	}
	return exitCode(err)
}
