package commands

import (
	"context"
	"errors"
	"fmt"
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

// exitCode picks the process exit code for an error returned by a command.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	}
	return ExitFailure
}
