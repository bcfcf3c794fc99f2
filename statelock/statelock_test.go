package statelock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var since = time.Date(2026, 11, 23, 10, 15, 2, 0, time.UTC)

// TestHelperProcess is not a test: run with STATELOCK_HOLD=DIR, it takes
// the lock "account-333333333301" in DIR, says so, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("STATELOCK_HOLD")
	if dir == "" {
		t.Skip("the helper process of TestAKilledHolderReleasesTheLock")
	}
	if _, err := Acquire(dir, "account-333333333301", Holder{PID: os.Getpid(), Command: "delete", Since: since}); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestSecondHolderIsRefusedUntilRelease(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "locks")
	first := Holder{PID: 4242, Command: "delete", CommandLine: "rootctl delete --accounts 333333333301", Since: since}
	l, err := Acquire(dir, "account-333333333301", first)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("lock directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(l.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", fi.Mode().Perm(), err)
	}

	_, err = Acquire(dir, "account-333333333301", Holder{PID: 5151, Command: "recovery", Since: since})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder != first || busy.Path != l.Path() {
		t.Fatalf("second Acquire: %v (%+v), want busy, held by %+v", err, busy, first)
	}
	if want := "is held by pid 4242 (delete, since 2026-11-23T10:15:02Z)"; !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %q, want it to end %q", err, want)
	}

	// Another name is another lock.
	other, err := Acquire(dir, "account-333333333302", first)
	if err != nil {
		t.Fatalf("a lock of another account: %v", err)
	}
	other.Release()

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(l.Path()); len(data) != 0 {
		t.Fatalf("a released lock file still names its holder: %q", data)
	}
	second := Holder{PID: 5151, Command: "recovery", Since: since}
	l2, err := Acquire(dir, "account-333333333301", second)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	defer l2.Release()
	_, err = Acquire(dir, "account-333333333301", first)
	if !errors.As(err, &busy) || busy.Holder != second {
		t.Fatalf("third Acquire: %v, want held by the second holder", err)
	}
}

// TestBusyWithoutARecord: a lock held by a process whose record is missing
// or unreadable is still busy; it is reported with no holder, after a
// short wait for the record to appear.
func TestBusyWithoutARecord(t *testing.T) {
	t.Parallel()
	for _, record := range []string{"", "{not json", `{"pid":-1}`} {
		dir := t.TempDir()
		l, err := Acquire(dir, "s3-444444444402-dev-tools-artifacts", Holder{PID: 1, Since: since})
		if err != nil {
			t.Fatal(err)
		}
		l.f.Truncate(0)
		l.f.WriteAt([]byte(record), 0)
		start := time.Now()
		_, err = Acquire(dir, "s3-444444444402-dev-tools-artifacts", Holder{PID: 2, Since: since})
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Holder != (Holder{}) || !strings.HasSuffix(err.Error(), "is held by another process") {
			t.Errorf("record %q: %v, want busy with no holder", record, err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
			t.Errorf("record %q: refused after %v, want after a short wait for the record", record, d)
		}
		l.Release()
	}
}

func TestLockNamesAreFileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"", "../account-1", "a/b", ".hidden", "a b", strings.Repeat("x", 201)} {
		if l, err := Acquire(dir, name, Holder{PID: 1}); err == nil || !strings.Contains(err.Error(), "lock name") {
			l.Release()
			t.Errorf("name %q: %v, want refused", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused names left files: %v", entries)
	}
}

// TestAKilledHolderReleasesTheLock: a process that holds the lock and is
// killed (no Release, no clean exit) leaves a record but no lock.
func TestAKilledHolderReleasesTheLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "STATELOCK_HOLD="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = Acquire(dir, "account-333333333301", Holder{PID: os.Getpid(), Since: since})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder.PID != cmd.Process.Pid {
		t.Fatalf("while the helper runs: %v, want busy, held by pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, "account-333333333301", Holder{PID: os.Getpid(), Since: since})
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"delete":                 "delete",
		"unlock s3\x1b[2J\n":     "unlock s3?[2J?",
		strings.Repeat("é", 100): strings.Repeat("é", 79) + "…",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
