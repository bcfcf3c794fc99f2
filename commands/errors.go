package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// classCodes are the exit codes of the engine's outcome classes.
var classCodes = map[orgrun.Class]int{
	orgrun.OK:             ExitOK,
	orgrun.Findings:       ExitFindings,
	orgrun.Partial:        ExitPartial,
	orgrun.Timeout:        ExitTimeout,
	orgrun.NotProvisioned: ExitNotProvisioned,
	orgrun.Failure:        ExitFailure,
	orgrun.Usage:          ExitUsage,
	orgrun.Interrupted:    ExitCancelled,
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
