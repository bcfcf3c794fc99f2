//go:build windows

package statelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

var errBusy = errors.New("the lock is held")

// tryLock takes an exclusive lock on f without waiting. Windows locks
// forbid others to read the bytes they cover, so the lock covers one byte
// far past the holder's record, which stays readable.
func tryLock(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: 0x7fffffff}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errBusy
	}
	return err
}
