package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootctl/rootctl/statelock"
)

// TestTakeLocksAllOrNone: a run locks all its targets or none. Refused,
// it names the first busy target and its holder (with the date when the
// holder started on another day), counts the other busy ones, and keeps
// none of the locks it took on the way.
func TestTakeLocksAllOrNone(t *testing.T) {
	t.Parallel()
	yesterday := time.Now().Add(-24 * time.Hour)
	for _, tc := range []struct {
		name   string
		holder *statelock.Holder // of the busy targets; nil: no record
		busy   []string
		want   string
	}{
		{"one account busy", &statelock.Holder{PID: 4242, Command: "delete", Since: yesterday}, []string{"333333333302"},
			"account 333333333302 is being changed by another rootctl run (pid 4242, delete, since " + yesterday.Local().Format(time.DateTime) +
				"); nothing was changed; wait for it or check: ps -p 4242"},
		{"two accounts busy, the holder's command unprintable", &statelock.Holder{PID: 7, Command: "recovery\x1b[2J", Since: yesterday}, []string{"333333333302", "333333333303"},
			"account 333333333302 is being changed by another rootctl run (pid 7, recovery?[2J, since " + yesterday.Local().Format(time.DateTime) +
				"), and 1 more of the 3 accounts are; nothing was changed; wait for it or check: ps -p 7"},
		{"a holder with no record", nil, []string{"333333333303"},
			"account 333333333303 is being changed by another rootctl run; nothing was changed; wait for it (lock file: LOCKS/account-333333333303.lock)"},
	} {
		deps := &Deps{StateDir: t.TempDir()}
		locks := filepath.Join(deps.StateDir, "locks")
		for _, id := range tc.busy {
			h := statelock.Holder{PID: 1}
			if tc.holder != nil {
				h = *tc.holder
			}
			l, err := statelock.Acquire(locks, "account-"+id, h)
			if err != nil {
				t.Fatal(err)
			}
			if tc.holder == nil {
				os.Truncate(l.Path(), 0)
			}
			defer l.Release()
		}
		targets := []lockTarget{accountLock("333333333301"), accountLock("333333333302"), accountLock("333333333303")}
		_, err := takeLocks(deps, "delete", targets)
		if want := strings.ReplaceAll(tc.want, "LOCKS", locks); err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", tc.name, err, want)
		}
		// Nothing kept: the free account can be locked at once.
		l, err := statelock.Acquire(locks, "account-333333333301", statelock.Holder{PID: 1})
		if err != nil {
			t.Errorf("%s: the refused run kept a lock: %v", tc.name, err)
			continue
		}
		l.Release()
	}
}

func TestResourceLockNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ service, account, name, file, what string }{
		{"s3", "444444444402", "dev-tools-artifacts", "s3-444444444402-dev-tools-artifacts", "bucket dev-tools-artifacts in account 444444444402"},
		{"sqs", "444444444403", "dev-events-orders", "sqs-444444444403-dev-events-orders", "queue dev-events-orders in account 444444444403"},
		{"sqs", "444444444403", "https://sqs.us-east-1.amazonaws.com/444444444403/dev-events-orders", "sqs-444444444403-dev-events-orders", "queue dev-events-orders in account 444444444403"},
	} {
		if got := resourceLock(tc.service, tc.account, tc.name); got.name != tc.file || got.what != tc.what {
			t.Errorf("%s %s: %+v, want %s, %q", tc.service, tc.name, got, tc.file, tc.what)
		}
	}
}
