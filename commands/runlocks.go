package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rootctl/rootctl/statelock"
	"github.com/rootctl/rootctl/unlock"
)

// Runs that change an account or a resource lock it first, in locks/ of
// rootctl's state directory, so that two runs never interleave their
// changes: delete and recovery lock each account they will change
// (account-ID.lock) once the plan is made and before it is shown; unlock
// locks its bucket or queue (s3-ACCOUNT-BUCKET.lock, sqs-ACCOUNT-QUEUE.lock)
// before it reads the policy to show. A run that finds a lock taken stops
// with exit 1 before changing anything, naming the run that holds it. A
// lock lasts as long as its run: closing the file, or the process ending
// however it ends, releases it. Dry runs change nothing and lock nothing.
//
// credentials and exec take no lock: they hand a session to the user and
// change nothing themselves; what the session is then used for is unknown
// to rootctl, and holding a lock for the session's 15 minutes would block
// the very runs (delete, unlock) that repair an account.
//
// The locks keep apart the runs that share a state directory: one user on
// one machine (or a shared XDG_STATE_HOME). Runs elsewhere are not seen.

// lockTarget is one thing a run locks.
type lockTarget struct {
	name string // the lock file's name, without .lock
	what string // for the message: "account 333333333301"
}

// accountLock locks the root user's credentials of an account.
func accountLock(account string) lockTarget {
	return lockTarget{name: "account-" + account, what: "account " + account}
}

// resourceLock locks a bucket or a queue (given by name or URL).
func resourceLock(service, account, name string) lockTarget {
	what := "bucket"
	if service == unlock.SQS {
		what = "queue"
		if r, err := unlock.QueueFromURL(name); err == nil && strings.Contains(name, "://") {
			name = r.Name
		}
	}
	return lockTarget{name: service + "-" + account + "-" + name, what: what + " " + name + " in account " + account}
}

// runLocks are the locks a run holds.
type runLocks []*statelock.Lock

func (l runLocks) release() {
	for _, lock := range l {
		lock.Release()
	}
}

// takeLocks locks every target for command, or none: if any is taken, it
// releases those it got and says who holds the first one taken.
func takeLocks(deps *Deps, command string, targets []lockTarget) (runLocks, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	state, err := stateDir(deps)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(state, "locks")
	holder := statelock.Holder{PID: os.Getpid(), Command: command, CommandLine: commandLine(os.Args), Since: time.Now()}
	var held runLocks
	var busy []lockTarget
	var first *statelock.BusyError
	for _, t := range targets {
		l, err := statelock.Acquire(dir, t.name, holder)
		var be *statelock.BusyError
		switch {
		case errors.As(err, &be):
			if first == nil {
				first = be
			}
			busy = append(busy, t)
		case err != nil:
			held.release()
			return nil, fmt.Errorf("locking %s against other rootctl runs: %w; nothing was changed (check %s)", t.what, err, dir)
		default:
			held = append(held, l)
		}
	}
	if len(busy) == 0 {
		return held, nil
	}
	held.release()
	msg := busy[0].what + " is being changed by another rootctl run"
	if h := first.Holder; h.PID != 0 {
		msg += fmt.Sprintf(" (pid %d, %s, since %s)", h.PID, statelock.Printable(h.Command), clockTime(h.Since))
	}
	if len(busy) > 1 {
		msg += fmt.Sprintf(", and %d more of the %d accounts are", len(busy)-1, len(targets))
	}
	msg += "; nothing was changed; wait for it"
	if h := first.Holder; h.PID != 0 {
		msg += fmt.Sprintf(" or check: ps -p %d", h.PID)
	} else {
		msg += " (lock file: " + first.Path + ")"
	}
	return nil, errors.New(msg)
}

// clockTime shows a holder's start as a time of day, with the date if it
// is not today.
func clockTime(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y != time.Now().Year() || m != time.Now().Month() || d != time.Now().Day() {
		return t.Format(time.DateTime)
	}
	return t.Format(time.TimeOnly)
}

// commandLine is the run's arguments for the lock file, up to "--" (what
// follows is another program's, and may hold anything).
func commandLine(args []string) string {
	for i, a := range args {
		if a == "--" {
			args = args[:i]
			break
		}
	}
	s := strings.Join(args, " ")
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}
