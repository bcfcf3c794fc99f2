package auditlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestLogAppendsPrivateWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.log")
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	for run := range 2 { // a second run appends
		l, err := Open(path, "arn:aws:iam::111111111111:user/op", "INC-7", now)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := l.Record(Entry{Account: "111122223333", Action: "iam:DeleteAccessKey", Target: strings.Repeat("K", i), Outcome: Success}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if l.Entries() != 50 {
			t.Fatalf("run %d: %d entries", run, l.Entries())
		}
		l.Close()
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 100 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, line := range lines {
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Caller == "" || e.Reason != "INC-7" || e.RunID == "" || e.Time.IsZero() {
			t.Fatalf("line %q: %+v %v", line, e, err)
		}
	}
}

func TestStartedEntryIsOnDiskWhenRecordReturns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, "c", "r", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	started := Entry{Account: "111122223333", Task: "IAMDeleteRootUserCredentials", Action: "iam:DeleteAccessKey", Target: "AKIA1", SessionKeyID: "ASIA1", Outcome: Started}
	if err := l.Record(started); err != nil {
		t.Fatal(err)
	}
	// Another reader (a second process) sees the line before the call.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got Entry
	if err := json.Unmarshal(data, &got); err != nil || got.Outcome != "started" || got.Action != started.Action || got.Target != "AKIA1" || got.SessionKeyID != "ASIA1" {
		t.Fatalf("log after the started entry: %q (%v)", data, err)
	}
	done := started
	done.Outcome, done.Retried = Success, "an earlier attempt's response was lost"
	if err := l.Record(done); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"outcome":"started"`) || !strings.Contains(lines[1], `"outcome":"success"`) ||
		!strings.Contains(lines[1], `"retried":"an earlier attempt's response was lost"`) || strings.Contains(lines[0], "retried") {
		t.Fatalf("log %q", data)
	}
}

func TestRecordFailsWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	l := New(f, "/dev/full", "c", "r", time.Now)
	defer l.Close()
	err = l.Record(Entry{Action: "AssumeRoot", Outcome: Started})
	if err == nil || !strings.Contains(err.Error(), "writing the audit log /dev/full") || l.Entries() != 0 {
		t.Fatalf("Record on a full disk: %v, %d entries", err, l.Entries())
	}
}

func TestOpenCreatesAPrivateFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "new", "audit.log")
	l, err := Open(path, "c", "r", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("created log: %v %v", fi.Mode(), err)
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Fatalf("created directory mode %v", fi.Mode().Perm())
	}
}

func TestOpenLeavesAnExistingFilesModeAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    os.FileMode
		wantErr string // "" opens
	}{
		{"a private log is appended to and keeps its mode", 0o600, ""},
		{"a log only its owner can read is appended to and keeps its mode", 0o400 | 0o200, ""},
		{"a log others can read is refused, not chmodded", 0o644, "may be read or written by others (mode 0644): make it private with: chmod 600 "},
		{"a log its group can write is refused", 0o620, "(mode 0620): make it private with: chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			l, err := Open(path, "c", "r", time.Now)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			want := "old\n"
			if err == nil {
				if err := l.Record(Entry{Action: "AssumeRoot", Outcome: Started}); err != nil {
					t.Fatal(err)
				}
				l.Close()
				want = "old\n{"
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm() != tt.mode {
				t.Fatalf("mode %v, want %v untouched", fi.Mode().Perm(), tt.mode)
			}
			if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), want) || (tt.wantErr != "" && string(data) != want) {
				t.Fatalf("content %q", data)
			}
		})
	}
}

// shortWriter is a disk that fills up mid-line once: the first write
// stores only half its bytes and fails, as write(2) does on ENOSPC.
type shortWriter struct {
	strings.Builder
	failed bool
}

func (w *shortWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		w.Builder.Write(p[:len(p)/2])
		return len(p) / 2, syscall.ENOSPC
	}
	return w.Builder.Write(p)
}
func (w *shortWriter) Sync() error  { return nil }
func (w *shortWriter) Close() error { return nil }

// TestAnEntryAfterAPartialLineIsAWholeLine: a write cut short by a full
// disk leaves part of a line; the next entry (once there is room again)
// must start on a line of its own, not be glued to that part and lost to
// every reader of the log.
func TestAnEntryAfterAPartialLineIsAWholeLine(t *testing.T) {
	t.Parallel()
	t.Run("in the same run", func(t *testing.T) {
		t.Parallel()
		w := &shortWriter{}
		l := New(w, "audit.log", "c", "r", time.Now)
		if err := l.Record(Entry{Account: "111122223333", Action: "AssumeRoot", Outcome: Started}); err == nil {
			t.Fatal("Record on a disk that filled up: no error")
		}
		if err := l.Record(Entry{Account: "111122223333", Action: "AssumeRoot", Outcome: Failed}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
		var e Entry
		if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &e) != nil || e.Outcome != Failed {
			t.Fatalf("log %q: want the partial line, then the failed entry on a line of its own", w.String())
		}
	})
	t.Run("in the next run", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "audit.log")
		partial := `{"time":"2026-11-23T10:00:00Z","caller":"c","acc`
		if err := os.WriteFile(path, []byte(partial), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := OpenFile(path) // as rootctl's commands open it
		if err != nil {
			t.Fatal(err)
		}
		l := New(f, path, "c", "r", time.Now)
		if err := l.Record(Entry{Account: "111122223333", Action: "AssumeRoot", Outcome: Started}); err != nil {
			t.Fatal(err)
		}
		if err := l.Record(Entry{Account: "111122223333", Action: "AssumeRoot", Outcome: Success}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(lines) != 3 || lines[0] != partial {
			t.Fatalf("log %q: want the partial line, then two entries", data)
		}
		for i, want := range []string{Started, Success} {
			var e Entry
			if err := json.Unmarshal([]byte(lines[i+1]), &e); err != nil || e.Outcome != want {
				t.Fatalf("line %q: %v, want a whole %s entry", lines[i+1], err, want)
			}
		}
	})
}
