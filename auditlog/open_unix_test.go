//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenRefusesAnythingButARegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "someone-elses.log")
	if err := os.WriteFile(target, []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.log")
	if err := os.Symlink(filepath.Join(dir, "nothing-here"), dangling); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	readFIFO := filepath.Join(dir, "read-fifo")
	if err := syscall.Mkfifo(readFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	// A FIFO someone reads opens; its check after the open refuses it.
	r, err := os.OpenFile(readFIFO, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct{ name, path, want string }{
		{"a symbolic link to another file", link, "is a symbolic link, not a regular file: name a regular file, or a new one"},
		{"a dangling symbolic link", dangling, "is a symbolic link, not a regular file"},
		{"a directory", dir, "is a directory, not a regular file"},
		{"/dev/null", "/dev/null", "is a character device, not a regular file"},
		{"a FIFO nobody reads", fifo, "is a named pipe or socket, not a regular file"},
		{"a FIFO someone reads", readFIFO, "is a named pipe, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "/dev/null" {
				if _, err := os.Stat("/dev/null"); err != nil {
					t.Skip(err)
				}
			}
			before, _ := os.Lstat(tt.path)
			done := make(chan error, 1)
			go func() {
				l, err := Open(tt.path, "c", "r", time.Now)
				if err == nil {
					l.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.path+" "+tt.want) {
					t.Fatalf("Open(%s): %v, want %q", tt.path, err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Open blocked")
			}
			if after, _ := os.Lstat(tt.path); after.Mode() != before.Mode() {
				t.Fatalf("mode changed from %v to %v", before.Mode(), after.Mode())
			}
		})
	}
	if data, _ := os.ReadFile(target); string(data) != "theirs\n" {
		t.Fatalf("the link's target was written: %q", data)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Fatalf("the link's target was chmodded: %v", fi.Mode().Perm())
	}
	if _, err := os.Lstat(filepath.Join(dir, "nothing-here")); !os.IsNotExist(err) {
		t.Fatalf("the dangling link's target was created: %v", err)
	}
}
