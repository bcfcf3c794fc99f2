package unlock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackupRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	policy := "{\n  \"Statement\": [{\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]\n}"
	at := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	b := Backup{Resource: Resource{Service: S3, Account: "111122223333", Name: "my.bucket", Region: "eu-west-1"}, Policy: &policy, TakenAt: at, Reason: "INC-7"}
	first, err := WriteBackup(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	second, err := WriteBackup(dir, b) // same second: a new file, not a replaced one
	if err != nil || second == first {
		t.Fatalf("second backup %q (%v) replaced %q", second, err, first)
	}
	for _, p := range []string{first, second} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}
	got, err := ReadBackup(first)
	if err != nil || *got.Policy != policy || got.Resource != b.Resource || !got.TakenAt.Equal(at) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".backup-*"))
	if len(left) != 0 || !strings.HasSuffix(first, "s3-111122223333-my.bucket-20261123T101500Z.json") {
		t.Fatalf("temporary files %q, name %s", left, first)
	}

	none := Backup{Resource: Resource{Service: SQS, Account: "111122223333", Name: "q", Region: "us-east-1", URL: "https://sqs.us-east-1.amazonaws.com/111122223333/q"}, TakenAt: at}
	p, err := WriteBackup(dir, none)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadBackup(p); err != nil || got.Policy != nil {
		t.Fatalf("a backup of no policy reads back as %+v, %v", got, err)
	}
}

func TestQueueFromURL(t *testing.T) {
	for _, tt := range []struct{ url, region, account, name string }{
		{"https://sqs.eu-west-1.amazonaws.com/111122223333/orders", "eu-west-1", "111122223333", "orders"},
		{"https://eu-west-1.queue.amazonaws.com/111122223333/orders.fifo", "eu-west-1", "111122223333", "orders.fifo"},
		{"http://127.0.0.1:4566/111122223333/q", "", "111122223333", "q"},
	} {
		r, err := QueueFromURL(tt.url)
		if err != nil || r.Region != tt.region || r.Account != tt.account || r.Name != tt.name {
			t.Errorf("%s: %+v %v", tt.url, r, err)
		}
	}
	// What SQS would read differently from the path: a query, a fragment,
	// an escape, a user.
	for _, bad := range []string{"orders", "https://sqs.eu-west-1.amazonaws.com/orders", "https://sqs.eu-west-1.amazonaws.com/12/orders",
		"https://sqs.us-east-1.amazonaws.com/111122223333/orders?x=/111122223333/audit",
		"https://sqs.us-east-1.amazonaws.com/111122223333/orders#/111122223333/audit",
		"https://sqs.us-east-1.amazonaws.com/111122223333/orders?",
		"https://sqs.us-east-1.amazonaws.com/111122223333/or%64ers",
		"https://u:p@sqs.us-east-1.amazonaws.com/111122223333/orders"} {
		if _, err := QueueFromURL(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
