package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rootctl/rootctl/orgrun"
	"github.com/rootctl/rootctl/orgscan"
)

// Exit codes, documented in README.md and in `rootctl --help`.
const (
	ExitOK       = 0 // success; for audits: no root credentials found
	ExitFailure  = 1 // any other failure
	ExitUsage    = 2 // bad flags or arguments
	ExitFindings = 3 // root credentials found (audit; --exit-zero turns it off)
	ExitPartial  = 4 // some accounts could not be processed
	// ExitTimeout: an account was not created or not ACTIVE within --timeout.
	ExitTimeout = 5
	// ExitNotProvisioned: an account creation failed, or the account is
	// suspended or closing.
	ExitNotProvisioned = 6
	ExitCancelled      = 130 // interrupted (Ctrl-C)
)

// exitError carries an exit code, and optionally a message, up to Run.
type exitError struct {
	code int
	err  error // nil: exit silently with code
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad input: exit code 2, with the message as given.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// exitCodes is the one table of rootctl's exit codes: the help
// (appDescription, exitCodesFor), README.md's table (a test keeps it
// equal to exitCodesMarkdown) and the exit code of every engine outcome
// (classCodes) are read from it. meaning is Markdown (`code` spans); short
// is how a command's help names the codes every command shares.
var exitCodes = []struct {
	code    int // -1: the row "other"
	class   orgrun.Class
	meaning string
	short   string
}{
	{ExitOK, orgrun.OK, "success; for `audit`: no root credentials found", ""},
	{ExitFailure, orgrun.Failure, "failure (AWS refused for the whole organization, the organization could not be read, the audit log could not be written, another rootctl run holds the account or resource, …)", "other failure"},
	{ExitUsage, orgrun.Usage, "usage error: a bad flag, argument, ID or input file; nothing was changed", "usage error"},
	{ExitFindings, orgrun.Findings, "`audit` found root credentials that no live exception accepts (with `--fail-on new`: new ones), or a stale exception (`--exit-zero` turns this into 0); `locks` found a locked bucket or queue; `hook` found root credentials and left them; `delete` held back risky steps, so credentials remain; `preflight` found accounts a guardrail (SCP or RCP) blocks, or may block (`unknown`)", ""},
	{ExitPartial, orgrun.Partial, "some accounts could not be processed: an error, or a guardrail (SCP or RCP) blocks them (or, for `delete`/`recovery`, a change failed); the others are in the report", ""},
	{ExitTimeout, orgrun.Timeout, "`hook account-created`, `account create`: the account was not created or not `ACTIVE` within `--timeout`", ""},
	{ExitNotProvisioned, orgrun.NotProvisioned, "`hook account-created`, `account create`: the creation failed, or the account is suspended or closing", ""},
	{ExitCancelled, orgrun.Interrupted, "interrupted (Ctrl-C); what was done is reported", "interrupted"},
	{-1, -1, "for `exec`: the exit code of the command it ran", ""},
}

// classCodes are the exit codes of the engine's outcome classes.
var classCodes = func() map[orgrun.Class]int {
	m := map[orgrun.Class]int{}
	for _, e := range exitCodes {
		if e.code >= 0 {
			m[e.class] = e.code
		}
	}
	return m
}()

// exitCodesMarkdown is README.md's table of exit codes.
func exitCodesMarkdown() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n| --- | --- |\n")
	for _, e := range exitCodes {
		b.WriteString("| " + codeName(e.code) + " | " + e.meaning + " |\n")
	}
	return b.String()
}

// exitCodesHelp is the table for `rootctl --help`: one code a line,
// wrapped under its meaning.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, e := range exitCodes {
		b.WriteString("\n" + hang(fmt.Sprintf("   %-4s ", codeName(e.code)), strings.ReplaceAll(e.meaning, "`", ""), helpWidth))
	}
	return b.String()
}

// exitCodesFor is a command's "Exit codes:" paragraph: what the codes it
// ends with mean for it, in order, then the codes every command shares
// (1, 2, 130), as the table names them.
func exitCodesFor(own map[int]string) string {
	var parts []string
	for _, e := range exitCodes {
		if m, ok := own[e.code]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", e.code, m))
		}
	}
	for _, e := range exitCodes {
		if _, ok := own[e.code]; !ok && e.short != "" {
			parts = append(parts, fmt.Sprintf("%d %s", e.code, e.short))
		}
	}
	return wrap("Exit codes: "+strings.Join(parts, "; ")+".", helpWidth)
}

func codeName(code int) string {
	if code < 0 {
		return "other"
	}
	return fmt.Sprint(code)
}

// helpWidth is the width help paragraphs are wrapped to.
const helpWidth = 80

// wrap breaks text into lines of at most width columns, between words.
func wrap(text string, width int) string { return hang("", text, width) }

// hang wraps text after prefix, to width columns, its later lines indented
// as far as prefix.
func hang(prefix, text string, width int) string {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	var lines []string
	line, empty := prefix, true
	for _, word := range strings.Fields(text) {
		if !empty && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, line)
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line, empty = line+word, false
	}
	return strings.Join(append(lines, line), "\n")
}

// exitCode picks the process exit code for an error returned by a command.
func exitCode(err error) int {
	var ee *exitError
	var o *orgrun.Outcome
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &o):
		return classCodes[o.Class]
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	}
	return ExitFailure
}

// silent reports an error that only carries an exit code: the report on
// stdout says it all, and nothing is printed on stderr.
func silent(err error) bool {
	var ee *exitError
	var o *orgrun.Outcome
	switch {
	case errors.As(err, &ee):
		return ee.err == nil
	case errors.As(err, &o):
		return o.Err == nil
	}
	return false
}

// engineError words the engine's outcomes that name the command line: an
// OU that is not there, a selection that matched no account, and risky
// steps held back for want of --accept.
func engineError(err error, sel orgscan.Selection) error {
	var o *orgrun.Outcome
	var none *orgrun.NoMatchError
	var held *orgrun.HeldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &none):
		return usageErrorf("no account of the organization matches the selection (%s), so %s: check the selection flags", selectionText(sel), none.Nothing)
	case errors.Is(err, orgscan.ErrUnknownOU) && errors.As(err, &o) && o.Class == orgrun.Usage:
		return usageErrorf("--ou %v (list OUs with: aws organizations list-organizational-units-for-parent)", o.Err)
	case errors.As(err, &held):
		var flags []string
		for _, r := range held.Risks {
			flags = append(flags, "--accept "+string(r))
		}
		return &orgrun.Outcome{Class: orgrun.Findings, Err: fmt.Errorf("%w: review them in the plan, then pass %s", held, strings.Join(flags, " "))}
	}
	return err
}
