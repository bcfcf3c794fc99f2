//go:build unix

package auditlog

import (
	"errors"
	"os"
	"syscall"
)

var (
	errSymlink   = syscall.ELOOP  // O_NOFOLLOW met a symbolic link
	errDirectory = syscall.EISDIR // a directory cannot be opened for writing
	errNoReader  = syscall.ENXIO  // O_NONBLOCK|O_WRONLY on a FIFO nobody reads
)

// openAppend opens path for appending without following a symbolic link
// (create: creating it, and failing if anything is there). O_NONBLOCK keeps
// a FIFO from blocking the open; it is cleared before the file is used.
func openAppend(path string, create bool) (*os.File, error) {
	flags := syscall.O_WRONLY | syscall.O_APPEND | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT | syscall.O_EXCL
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flags, 0o600)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openRead opens path for reading without following a symbolic link or
// blocking on a FIFO.
func openRead(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
