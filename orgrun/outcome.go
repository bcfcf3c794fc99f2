package orgrun

import "fmt"

// Class is how a run ended, as far as its exit code goes. The classes are
// ordered by precedence: when several apply, the run ends with the
// greatest (Decide). commands maps each class to its exit code.
type Class int

// The classes, from the least to the most important.
const (
	OK             Class = iota // nothing to report: success
	Findings                    // found what the command looks for (root credentials, a locked bucket or queue, held steps)
	Partial                     // some accounts could not be processed, or a change failed
	Timeout                     // an account was not created or not ACTIVE in time
	NotProvisioned              // an account creation failed, or the account is suspended or closing
	Failure                     // the run failed as a whole: a listing, the audit log, an organization-wide refusal
	Usage                       // the input named something that is not there; nothing was done
	Interrupted                 // Ctrl-C
)

// Outcome is how a run ended: the class decides the exit code, Err says
// why. A nil Err ends the run with the code alone (the report says it
// all).
type Outcome struct {
	Class Class
	Err   error
}

func (o *Outcome) Error() string {
	if o.Err == nil {
		return fmt.Sprintf("run ended with outcome %d", o.Class)
	}
	return o.Err.Error()
}

func (o *Outcome) Unwrap() error { return o.Err }

// If is the outcome of class c with err when cond holds, else OK.
func If(cond bool, c Class, err error) Outcome {
	if !cond {
		return Outcome{}
	}
	return Outcome{Class: c, Err: err}
}

// Fail is a Failure with err when err is not nil, else OK.
func Fail(err error) Outcome { return If(err != nil, Failure, err) }

// Decide returns the outcome of greatest class among those that apply (the
// first of them, if several share it), or nil when none but OK does. This
// is the one place where "interrupted beats failed beats partial beats
// findings" is decided.
func Decide(outcomes ...Outcome) error {
	worst := Outcome{}
	for _, o := range outcomes {
		if o.Class > worst.Class {
			worst = o
		}
	}
	if worst.Class == OK {
		return nil
	}
	return &worst
}
