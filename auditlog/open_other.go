//go:build !unix

package auditlog

import (
	"errors"
	"io/fs"
	"os"
)

var (
	errSymlink   = errors.New("symbolic link")
	errDirectory = errors.New("directory")
	errNoReader  = errors.New("no reader")
)

// openAppend opens path for appending (create: creating it, and failing
// if anything is there). Without O_NOFOLLOW, a symbolic link is refused by
// looking first; the regular-file check after the open still holds.
func openAppend(path string, create bool) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: errSymlink}
	}
	flags := os.O_WRONLY | os.O_APPEND
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	return os.OpenFile(path, flags, 0o600)
}

// openRead opens path for reading.
func openRead(path string) (*os.File, error) { return os.Open(path) }
