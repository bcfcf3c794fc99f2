// Package statelock keeps two runs from changing the same thing at once:
// an advisory lock (flock on Unix, LockFileEx on Windows) on one file per
// thing, in a directory the runs share. The file records who holds it, so
// that a run refused can say which run to wait for. The lock belongs to
// the open file: closing it releases the lock, and so does the end of the
// process, however it ends; a lock file left behind holds nothing.
package statelock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Holder describes the run holding a lock. It holds nothing secret.
type Holder struct {
	PID         int       `json:"pid"`
	Command     string    `json:"command"`      // what the run does, e.g. "delete"
	CommandLine string    `json:"command_line"` // the run's arguments
	Since       time.Time `json:"since"`
}

// Lock is a lock held; Release it when done.
type Lock struct {
	f    *os.File
	path string
}

// BusyError is returned by Acquire when another holder has the lock.
type BusyError struct {
	Path string
	// Holder is the holder's record, zero if it could not be read (the
	// holder was starting or ending).
	Holder Holder
}

func (e *BusyError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("%s is held by another process", e.Path)
	}
	return fmt.Sprintf("%s is held by pid %d (%s, since %s)", e.Path, e.Holder.PID, Printable(e.Holder.Command), e.Holder.Since.Format(time.RFC3339))
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// Acquire takes the lock name in dir (creating dir, 0700, if need be) for
// holder, without waiting: if another holder has it, the error is a
// *BusyError naming that holder.
func Acquire(dir, name string, holder Holder) (*Lock, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("lock name %q: want letters, digits, '.', '_' and '-'", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the lock directory: %w", err)
	}
	path := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	// A holder writes its record just after it takes the lock and empties
	// it just before it lets go: a busy lock with no record is looked at
	// again, briefly, rather than reported with no holder.
	for try := 0; ; try++ {
		err = tryLock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errBusy) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		h, ok := readHolder(f)
		if ok || try == 20 {
			f.Close()
			return nil, &BusyError{Path: path, Holder: h}
		}
		time.Sleep(10 * time.Millisecond)
	}
	data, err := json.Marshal(holder)
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(data, '\n'), 0)
	}
	if err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("writing the lock file %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release empties the holder's record and lets go of the lock. The file
// stays: removing it could let a third run lock a new file while a second
// holds the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	terr := l.f.Truncate(0)
	cerr := l.f.Close()
	l.f = nil
	return errors.Join(terr, cerr)
}

// readHolder reads the record of the lock's current holder.
func readHolder(f *os.File) (Holder, bool) {
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, 1<<16), 1<<16))
	if err != nil || len(data) == 0 {
		return Holder{}, false
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil || h.PID <= 0 {
		return Holder{}, false
	}
	return h, true
}

// Printable returns s with anything unprintable as "?", and at most 80
// characters: a lock file is anyone's to write, so what it says is shown
// as text only.
func Printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}
