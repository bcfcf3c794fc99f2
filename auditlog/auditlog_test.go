package auditlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func TestOpenMakesAnOldLogPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(path, nil, 0o644)
	l, err := Open(path, "c", "r", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}
