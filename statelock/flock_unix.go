//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || solaris

package statelock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errBusy = errors.New("the lock is held")

// tryLock takes an exclusive flock on f without waiting. flock locks
// belong to the open file, so two opens conflict even in one process.
func tryLock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EWOULDBLOCK:
			return errBusy
		}
		return err
	}
}
