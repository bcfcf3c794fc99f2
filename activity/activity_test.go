package activity

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

func TestParseRecordShapes(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, record string
		want         Event
	}{
		{"success, policy as a descriptor", `{"eventID":"e1","userIdentity":{"arn":"arn:aws:iam::111111111111:role/ops"},"sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2","awsRegion":"us-east-1",
			"requestParameters":{"targetPrincipal":"333333333301","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}},
			"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLEEXAMPLE01"}}}`,
			Event{Time: at, Caller: "arn:aws:iam::111111111111:role/ops", Account: "333333333301", Task: "IAMAuditRootUserCredentials",
				TaskPolicyARN: "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials", Result: Success,
				SourceIP: "203.0.113.7", UserAgent: "aws-cli/2", SessionKeyID: "ASIAEXAMPLEEXAMPLE01", Region: "us-east-1", EventID: "e1"}},
		{"failure, policy as a string, target as an ARN", `{"eventID":"e2","userIdentity":{"type":"AssumedRole","accountId":"111111111111"},"errorCode":"AccessDenied","errorMessage":"no",
			"requestParameters":{"targetPrincipal":"arn:aws:iam::444444444402:root","taskPolicyArn":"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},"responseElements":null}`,
			Event{Time: at, Caller: "AssumedRole 111111111111", Account: "444444444402", Task: "S3UnlockBucketPolicy",
				TaskPolicyARN: "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy", Result: "AccessDenied", ErrorMessage: "no", EventID: "e2"}},
	} {
		got, err := parse(cttypes.Event{EventId: aws.String(tc.want.EventID), EventTime: aws.Time(at), CloudTrailEvent: aws.String(tc.record)})
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := parse(cttypes.Event{EventId: aws.String("bad"), CloudTrailEvent: aws.String("{")}); err == nil {
		t.Error("a record that is not JSON parsed")
	}
}

func TestSummarize(t *testing.T) {
	events := []Event{
		{Caller: "a", Task: "T1", Account: "1", Result: Success},
		{Caller: "b", Task: "T1", Account: "2", Result: "AccessDenied"},
		{Caller: "b", Task: "T2", Account: "2", Result: Success},
		{Caller: "b", Task: "T1", Account: "3", Result: Success},
	}
	s := Summarize(events)
	if s.Events != 4 || s.Succeeded != 3 || s.Failed != 1 {
		t.Fatalf("totals %+v", s)
	}
	wantCallers := []Count{{"b", 3, 1, 2}, {"a", 1, 0, 1}}
	wantTasks := []Count{{"T1", 3, 1, 3}, {"T2", 1, 0, 1}}
	for i := range wantCallers {
		if s.ByCaller[i] != wantCallers[i] || s.ByTask[i] != wantTasks[i] {
			t.Fatalf("by caller %+v, by task %+v", s.ByCaller, s.ByTask)
		}
	}
}
