//go:build unix

package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact")
	over := filepath.Join(dir, "over")
	fifo := filepath.Join(dir, "fifo")
	os.WriteFile(exact, []byte(strings.Repeat("x", 1024)), 0o600)
	os.WriteFile(over, []byte(strings.Repeat("x", 1025)), 0o600)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error
		text       string
	}{
		{"a file of exactly the limit is read", exact, nil, ""},
		{"a file one byte over the limit is refused", over, ErrTooLarge, over + ": file too large: the limit is 1 KiB"},
		{"a named pipe is refused without waiting for a writer", fifo, ErrNotRegular, fifo + ": not a regular file (it is a named pipe)"},
		{"an endless device is refused", "/dev/zero", ErrNotRegular, "/dev/zero: not a regular file (it is a character device)"},
		{"a directory is refused", dir, ErrNotRegular, dir + ": not a regular file (it is a directory)"},
		{"a missing file is an error of its own", filepath.Join(dir, "none"), os.ErrNotExist, ""},
	} {
		start := time.Now()
		data, err := Read(tc.path, 1024)
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %v", tc.name, time.Since(start))
		}
		switch {
		case tc.want == nil && (err != nil || len(data) != 1024):
			t.Errorf("%s: %d bytes, %v", tc.name, len(data), err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		case tc.text != "" && err.Error() != tc.text:
			t.Errorf("%s: err = %q, want %q", tc.name, err, tc.text)
		}
	}
}
