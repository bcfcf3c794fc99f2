// Package auditlog is rootctl's record of privileged actions: one JSON line
// per action (every AssumeRoot and every change made as root), appended to
// a file only its owner can read, synced line by line so that an
// interrupted run leaves whole lines. It never holds a secret.
package auditlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Outcomes of an entry.
const (
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
	RunID  string `json:"run_id"`
}

// Log appends entries to one file. It is safe for concurrent use.
type Log struct {
	path   string
	caller string
	reason string
	runID  string
	now    func() time.Time

	mu sync.Mutex
	f  *os.File
	n  int
}

// DefaultPath is where the audit log lives unless told otherwise:
// audit.log in rootctl's state directory.
func DefaultPath(stateDir string) string { return filepath.Join(stateDir, "audit.log") }

// Open opens (creating with mode 0600, and its directory with 0700) the
// log at path for a run by caller for reason.
func Open(path, caller, reason string, now func() time.Time) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	// A log created by someone else's umask, or an old one, must still be
	// private: root actions name accounts and reasons.
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit log %s is readable by others and cannot be made private: %w", path, err)
		}
	}
	return &Log{path: path, caller: caller, reason: reason, runID: now().UTC().Format("20060102T150405Z") + "-" + fmt.Sprint(os.Getpid()), now: now, f: f}, nil
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
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("writing the audit log %s: %w", l.path, err)
	}
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
