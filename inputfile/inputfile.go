// Package inputfile reads the files a user names on rootctl's command line
// (a policy, a backup to restore, an EventBridge event) safely: only
// regular files, and at most a given size. A named pipe would block the
// open for ever, /dev/zero would fill the memory, and a file of gigabytes
// is never what was meant.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular means the path names a named pipe, a device, a socket or a
// directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge means the file is larger than the limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path, if it holds at
// most limit bytes. The file is opened without blocking (O_NONBLOCK: a
// named pipe with no writer opens at once) and checked with fstat before a
// byte is read; the read itself stops at limit+1 bytes, so a file that
// grows meanwhile is refused too. Errors name the path.
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (it is %s)", path, ErrNotRegular, Kind(fi.Mode()))
	}
	if fi.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, limit)
	}
	return data, nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("%s: %w: the limit is %s", path, ErrTooLarge, size(limit))
}

// Kind names what a file that is not regular is, for messages: "a
// directory", "a named pipe", "a character device", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "an irregular file"
}

// size writes n bytes for people: 20 KiB, 16 MiB, 300 bytes.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
