package rootsession

import (
	"strings"
	"testing"
)

func TestParseTask(t *testing.T) {
	tests := []struct {
		in   string
		want Task
	}{
		{"IAMAuditRootUserCredentials", Audit},
		{"audit", Audit},
		{"AUDIT", Audit},
		{"create-password", CreatePassword},
		{"arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials", Delete},
		{"s3-unlock", S3Unlock},
		{" sqs-unlock ", SQSUnlock},
	}
	for _, tt := range tests {
		got, err := ParseTask(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTask(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "admin", "arn:aws:iam::aws:policy/AdministratorAccess", "IAMAudit"} {
		_, err := ParseTask(bad)
		if err == nil || !strings.Contains(err.Error(), "audit (IAMAuditRootUserCredentials)") {
			t.Errorf("ParseTask(%q) = %v, want an error listing the valid tasks", bad, err)
		}
	}
}

func TestTaskFeatures(t *testing.T) {
	for _, task := range Tasks() {
		want := FeatureRootCredentialsManagement
		if strings.HasPrefix(task.Name, "S3") || strings.HasPrefix(task.Name, "SQS") {
			want = FeatureRootSessions
		}
		if task.Feature != want || task.ARN() != ARNPrefix+task.Name {
			t.Errorf("%s: feature %s, ARN %s", task.Name, task.Feature, task.ARN())
		}
	}
}

func TestTaskActions(t *testing.T) {
	want := map[Task]int{Audit: 7, CreatePassword: 2, Delete: 10, S3Unlock: 4, SQSUnlock: 4}
	for _, task := range Tasks() {
		acts := task.Actions()
		if len(acts) != want[task] {
			t.Errorf("%s: %d actions, want %d", task.Name, len(acts), want[task])
		}
		acts[0] = "changed"
		if task.Actions()[0] == "changed" {
			t.Errorf("%s: Actions hands out its own list", task.Name)
		}
	}
}
