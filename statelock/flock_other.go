//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris || windows)

package statelock

import (
	"errors"
	"os"
	"runtime"
)

var errBusy = errors.New("the lock is held")

// tryLock fails: with no file locks on this system, a run that must not
// interleave with another refuses rather than go unguarded.
func tryLock(*os.File) error {
	return errors.New("rootctl has no file locks on " + runtime.GOOS + ", so it cannot keep two runs apart")
}
