// Package auditlog is rootctl's record of privileged actions: JSON lines
// appended to a file only its owner can read, synced line by line so that
// an interrupted run leaves whole lines. It is written ahead: every
// AssumeRoot and every change made as root has a Started entry on disk
// before its call is sent, and an outcome entry once the answer is known,
// so that a run killed between the two still leaves a record of what it
// may have changed. It never holds a secret.
package auditlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rootctl/rootctl/inputfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Outcomes of an entry.
const (
	// Started is written before a call is sent: the entry with the same
	// account, action and target that follows it says how it ended. A
	// Started entry with no outcome after it is a call whose outcome is
	// unknown (the run was killed): check the account.
	Started = "started"
	Success = "success"
	Failed  = "failed"
	// Unchanged is an action that found nothing to do (already deleted,
	// a password already present).
	Unchanged = "unchanged"
)

// Entry is one line of the audit log.
type Entry struct {
	Time      time.Time `json:"time"`
	Caller    string    `json:"caller"`
	Account   string    `json:"account"`
	Task      string    `json:"task_policy"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Reason    string    `json:"reason"`
	Outcome   string    `json:"outcome"`
	Error     string    `json:"error,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	// SessionKeyID is the root session's access key ID, which names the
	// session in the member account's CloudTrail. It is not secret.
	SessionKeyID string `json:"session_access_key_id,omitempty"`
	// Backup is the file holding what the action replaced.
	Backup string `json:"backup,omitempty"`
	// Retried says why a success is one although AWS's last answer said
	// there was nothing to do: an earlier attempt of the same call may have
	// reached AWS and its response was lost.
	Retried string `json:"retried,omitempty"`
	RunID   string `json:"run_id"`
}

// File is what a Log writes to: the file Open opens, or a stand-in (a
// test's full disk).
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// Log appends entries to one file. It is safe for concurrent use.
type Log struct {
	path   string
	caller string
	reason string
	runID  string
	now    func() time.Time

	mu sync.Mutex
	f  File
	n  int
	// midLine: the file may end with part of a line (a write cut short by
	// a full disk, in this run or an earlier one); the next entry starts
	// with a line break so that it is a whole line of its own.
	midLine bool
}

// DefaultPath is where the audit log lives unless told otherwise:
// audit.log in rootctl's state directory.
func DefaultPath(stateDir string) string { return filepath.Join(stateDir, "audit.log") }

// Open opens the log at path (see OpenFile) for a run by caller for reason.
func Open(path, caller, reason string, now func() time.Time) (*Log, error) {
	f, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	return New(f, path, caller, reason, now), nil
}

// endsMidLine reports whether the log file f, opened for appending at
// path, ends with part of a line. f is write-only, so the end is read
// through a second descriptor, and only if it is the same file.
func endsMidLine(path string, f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false
	}
	r, err := openRead(path)
	if err != nil {
		return false
	}
	defer r.Close()
	if ri, err := r.Stat(); err != nil || !os.SameFile(fi, ri) {
		return false
	}
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, fi.Size()-1); err != nil {
		return false
	}
	return last[0] != '\n'
}

// New returns a Log that appends to f, which is the file at path, for a
// run by caller for reason. Open is the usual way to get one.
func New(f File, path, caller, reason string, now func() time.Time) *Log {
	l := &Log{path: path, caller: caller, reason: reason, runID: now().UTC().Format("20060102T150405Z") + "-" + fmt.Sprint(os.Getpid()), now: now, f: f}
	if osf, ok := f.(*os.File); ok {
		l.midLine = endsMidLine(path, osf)
	}
	return l
}

// OpenFile opens the log file at path for appending, creating it with mode
// 0600 (and its directory with 0700). It never follows a symbolic link at
// path and refuses anything but a regular file (a directory, a device such
// as /dev/null, a FIFO), checking the file it opened, not the path, so
// nothing can be swapped in between. The mode of a file it did not create
// is never changed: one that others may read or write is refused, since
// root actions name accounts and reasons.
func OpenFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log's directory: %w", err)
	}
	f, created, err := openOrCreate(path)
	if err != nil {
		return nil, openError(path, err)
	}
	fi, err := f.Stat() // fstat: the file opened, whatever path names now
	switch {
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("opening the audit log %s: %w", path, err)
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, fmt.Errorf("audit log %s is %s, not a regular file: name a regular file, or a new one", path, inputfile.Kind(fi.Mode()))
	case created:
		if err := f.Chmod(0o600); err != nil { // the umask may have taken bits away; ours to set
			f.Close()
			return nil, fmt.Errorf("making the audit log %s private: %w", path, err)
		}
	case fi.Mode().Perm()&0o077 != 0:
		f.Close()
		return nil, fmt.Errorf("audit log %s may be read or written by others (mode %04o): make it private with: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return f, nil
}

// openOrCreate creates path exclusively, or opens the file already there;
// it reports which. Neither follows a symbolic link.
func openOrCreate(path string) (f *os.File, created bool, err error) {
	for range 3 { // a file removed between the two opens: create it again
		if f, err = openAppend(path, true); err == nil {
			return f, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		if f, err = openAppend(path, false); !errors.Is(err, fs.ErrNotExist) {
			return f, false, err
		}
	}
	return nil, false, err
}

// openError says why path could not be opened, and what to do.
func openError(path string, err error) error {
	var kind string
	switch {
	case errors.Is(err, errSymlink):
		kind = "a symbolic link"
	case errors.Is(err, errDirectory):
		kind = "a directory"
	case errors.Is(err, errNoReader):
		kind = "a named pipe or socket"
	default:
		return fmt.Errorf("opening the audit log: %w", err)
	}
	return fmt.Errorf("audit log %s is %s, not a regular file: name a regular file, or a new one", path, kind)
}

// Reason is the run's reason, as recorded.
func (l *Log) Reason() string { return l.reason }

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// Entries is how many entries this run wrote.
func (l *Log) Entries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Record appends e, filling in the time, caller, reason and run ID. Each
// entry is one write of one line, synced to disk before Record returns.
func (l *Log) Record(e Entry) error {
	e.Time, e.Caller, e.Reason, e.RunID = l.now().UTC(), l.caller, l.reason, l.runID
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit log is closed")
	}
	if l.midLine {
		line = append([]byte{'\n'}, line...)
	}
	if n, err := l.f.Write(line); err != nil {
		l.midLine = l.midLine && n == 0 || n > 0 && line[n-1] != '\n'
		return fmt.Errorf("writing the audit log %s: %w", l.path, err)
	}
	l.midLine = false
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("syncing the audit log %s: %w", l.path, err)
	}
	l.n++
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
