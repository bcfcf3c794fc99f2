package commands

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rootctl/rootctl/awserr"
)

// urfave/cli v2 stops reading flags at a command's first bare argument:
// `rootctl delete --dry-run 444444444405 --yes` would drop the ID and
// everything after it, --yes included, and act on every account. So Run
// reorders the words after the command's name first (reorderArgs): flags,
// with their values, go before a "--" and the bare arguments after it, and
// each command's Action then sees in c.Args() only its real arguments,
// which it takes (accountArgs) or refuses (noArgs).

// reorderArgs returns args with the flags of the command they name moved
// before its bare arguments, which follow a "--". Which flags take a value
// is read from the command's own flag definitions. Words after an existing
// "--" are left alone; a command whose ArgsUsage starts with "--" (exec,
// which runs another program) takes its arguments only after one, and a
// bare word before it is refused here. A command line that does not reach
// a command with no subcommands (an unknown command, help for the app) and
// a shell-completion request are returned as they are.
func reorderArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args, nil
	}
	flags, cmds := app.Flags, app.Commands
	var leaf *cli.Command
	path := []string{app.Name} // the command's name for messages, "rootctl exec"
	i := 1
	for ; i < len(args) && leaf == nil; i++ {
		switch t := args[i]; {
		case t == "--":
			return args, nil
		case isFlagWord(t):
			if takesValue(flags, t) {
				i++
			}
		default:
			cmd := findCommand(cmds, t)
			if cmd == nil {
				return args, nil // the parent's Action names the unknown command
			}
			if len(cmd.Subcommands) == 0 {
				leaf = cmd
			}
			path = append(path, cmd.Name)
			flags, cmds = cmd.Flags, cmd.Subcommands
		}
	}
	if leaf == nil {
		return args, nil
	}
	var opts, bare, after []string
	dash := false
	afterBareFlag := map[int]bool{} // bare words right after a flag with an optional value
	for j := i; j < len(args); j++ {
		t := args[j]
		if t == "--" {
			dash, after = true, args[j+1:]
			break
		}
		if !isFlagWord(t) {
			afterBareFlag[len(bare)] = j > i && optionalValue(leaf.Flags, args[j-1])
			bare = append(bare, t)
			continue
		}
		opts = append(opts, t)
		if takesValue(leaf.Flags, t) && j+1 < len(args) {
			j++
			opts = append(opts, args[j])
		}
	}
	out := append(append([]string(nil), args[:i]...), opts...)
	if strings.HasPrefix(leaf.ArgsUsage, "--") {
		if len(bare) > 0 {
			hint := "put the command to run after --"
			if afterBareFlag[0] {
				hint = "did you mean " + argumentHint(leaf, true, bare[0]) + "?"
			}
			return nil, usageErrorf("unexpected %s: %s (run: %s --help)", argumentsText(bare), hint, strings.Join(path, " "))
		}
		if dash {
			out = append(append(out, "--"), after...)
		}
		return out, nil
	}
	if len(bare)+len(after) > 0 {
		out = append(append(append(out, "--"), bare...), after...)
	}
	return out, nil
}

// isFlagWord reports whether a word on the command line is a flag, the way
// Go's flag package decides it ("-" alone is an argument: stdin).
func isFlagWord(t string) bool { return len(t) > 1 && t[0] == '-' && t != "--" }

// lookupFlag finds the flag that a word such as --name, -n or --name=v sets.
func lookupFlag(flags []cli.Flag, word string) (f cli.Flag, inline bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(word, "-"), "-")
	name, _, inline = strings.Cut(name, "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f, inline
			}
		}
	}
	return nil, inline
}

// takesValue reports whether a flag word is followed by its value: flags
// that are booleans to Go's flag package (a *cli.BoolFlag, or a GenericFlag
// whose Value says IsBoolFlag, such as --sim) take none, nor does --name=v.
// An unknown flag takes none; urfave refuses it.
func takesValue(flags []cli.Flag, word string) bool {
	f, inline := lookupFlag(flags, word)
	if f == nil || inline || isBoolFlag(f) {
		return false
	}
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

// optionalValue reports whether word is a flag whose value is optional and
// was left out (`--sim` rather than `--sim=FILE`): a bare word right after
// it was probably meant as its value.
func optionalValue(flags []cli.Flag, word string) bool {
	f, inline := lookupFlag(flags, word)
	_, generic := f.(*cli.GenericFlag)
	return generic && !inline && isBoolFlag(f)
}

func isBoolFlag(f cli.Flag) bool {
	switch f := f.(type) {
	case *cli.BoolFlag:
		return true
	case *cli.GenericFlag:
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return ok && b.IsBoolFlag()
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		for _, n := range c.Names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}

// accountFlags are the flags that take account IDs, in the order a stray
// ID is matched to them.
var accountFlags = []string{"accounts", "account", "account-id", "delegate"}

// argumentHint names the flag a stray argument was probably meant for:
// an account ID goes with the command's account flag; another word after a
// bare --sim was probably its value, unless it is a flag (after a --) or
// a number (a mistyped ID). Empty when there is no good guess.
func argumentHint(cmd *cli.Command, simBare bool, arg string) string {
	if awserr.ValidAccountID(arg) {
		for _, name := range accountFlags {
			switch f, _ := lookupFlag(cmd.Flags, name); f.(type) {
			case *cli.StringFlag, *cli.StringSliceFlag: // not sim serve's --accounts N
				return "--" + name + " " + arg
			}
		}
	}
	if f, _ := lookupFlag(cmd.Flags, "sim"); f != nil && simBare && !strings.HasPrefix(arg, "-") && strings.Trim(arg, "0123456789") != "" {
		return "--sim=" + arg
	}
	return ""
}

// simWasBare reports whether c's --sim was given without a value.
func simWasBare(c *cli.Context) bool {
	f, ok := c.Generic("sim").(*simFlag)
	return ok && f.bare
}

func argumentsText(args []string) string {
	if len(args) == 1 {
		return "argument " + strconv.Quote(args[0])
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return "arguments " + strings.Join(q, " ")
}

// noArgs refuses arguments on a command that takes none, naming the flag
// that was probably meant.
func noArgs(c *cli.Context) error {
	if c.NArg() == 0 {
		return nil
	}
	args := c.Args().Slice()
	name := strings.TrimSpace(c.Command.HelpName)
	if hint := argumentHint(c.Command, simWasBare(c), args[0]); hint != "" {
		return usageErrorf("unexpected %s: did you mean %s? (%s takes no arguments)", argumentsText(args), hint, name)
	}
	return usageErrorf("unexpected %s: %s takes no arguments (run: %s --help)", argumentsText(args), name, name)
}

// accountArgs returns a command's arguments, which must be account IDs.
func accountArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if awserr.ValidAccountID(a) {
			continue
		}
		if hint := argumentHint(c.Command, simWasBare(c), a); hint != "" {
			return nil, usageErrorf("unexpected argument %s: did you mean %s?", strconv.Quote(a), hint)
		}
		return nil, usageErrorf("unexpected argument %s: arguments are 12-digit account IDs (run: %s --help)", strconv.Quote(a), strings.TrimSpace(c.Command.HelpName))
	}
	return args, nil
}

// nearest returns the name closest to s by edit distance, when it is close
// enough to be a typo (at most two edits, and fewer than s has letters).
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := levenshtein(s, n); d < bestD && d < len(s) {
			best, bestD = n, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// unknownCommand is the error for a word that names no command of cmds,
// suggesting the nearest; parent is "rootctl" or "rootctl unlock".
func unknownCommand(name string, cmds []*cli.Command, parent string) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if n := nearest(name, names); n != "" {
		return usageErrorf("unknown command %s: did you mean %s? (run: %s --help)", strconv.Quote(name), strconv.Quote(n), parent)
	}
	return usageErrorf("unknown command %s (run: %s --help)", strconv.Quote(name), parent)
}
