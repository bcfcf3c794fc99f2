package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/rootctl/rootctl/fixtures"
)

// memberAdmin is an SDK config for the IAM administrator of a member
// account: the identity a locked resource policy keeps out.
func memberAdmin(h *harness, account string) aws.Config {
	c := h.srv.Credentials(account)
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint: aws.String(h.srv.URL()),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// The reason `rootctl unlock` exists: the member account's own
// administrator cannot change a policy that denies everyone, and the root
// session rootctl opens can. Afterwards the administrator can again.
func TestUnlockDoesWhatTheAccountAdministratorCannot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		account string
		args    []string
		change  func(aws.Config) error // the administrator's own attempt at the same change
		read    func(aws.Config) error // the administrator reading the policy
		readErr string                 // what reading answers once the policy is gone
		calls   []string               // rootctl's calls in the member account, with their error codes
	}{
		{
			name:    "a bucket policy that denies everyone",
			account: "444444444402",
			args:    []string{"unlock", "s3", "--account", "444444444402", "--bucket", "dev-tools-artifacts", "--reason", "INC-7", "--yes"},
			change: func(c aws.Config) error {
				_, err := s3.NewFromConfig(c, func(o *s3.Options) { o.UsePathStyle = true }).
					DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("dev-tools-artifacts")})
				return err
			},
			read: func(c aws.Config) error {
				_, err := s3.NewFromConfig(c, func(o *s3.Options) { o.UsePathStyle = true }).
					GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("dev-tools-artifacts")})
				return err
			},
			readErr: "NoSuchBucketPolicy",
			calls:   []string{"ListBuckets", "GetBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicy NoSuchBucketPolicy"},
		},
		{
			name:    "a queue policy that denies everyone",
			account: "444444444403",
			args:    []string{"unlock", "sqs", "--account", "444444444403", "--queue", "dev-events-orders", "--reason", "INC-8", "--yes"},
			change: func(c aws.Config) error {
				_, err := sqs.NewFromConfig(c).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
					QueueUrl: aws.String(*c.BaseEndpoint + "/444444444403/dev-events-orders"), Attributes: map[string]string{"Policy": ""}})
				return err
			},
			read: func(c aws.Config) error {
				_, err := sqs.NewFromConfig(c).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
					QueueUrl: aws.String(*c.BaseEndpoint + "/444444444403/dev-events-orders"), AttributeNames: []sqstypes.QueueAttributeName{"Policy"}})
				return err
			},
			// The policy refuses the root session GetQueueUrl too: rootctl
			// then addresses the queue by its documented URL.
			calls: []string{"GetQueueUrl AccessDenied", "GetQueueAttributes", "GetQueueAttributes", "SetQueueAttributes", "GetQueueAttributes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, demoOrg(t), fixtures.Options{})
			admin := memberAdmin(h, tt.account)
			if err := tt.read(admin); errCode(err) != "AccessDenied" {
				t.Fatalf("before the unlock the administrator read the policy: %v", err)
			}
			if err := tt.change(admin); errCode(err) != "AccessDenied" {
				t.Fatalf("before the unlock the administrator's change: %v, want AccessDenied", err)
			}
			h.srv.ResetCalls()
			if code, _, stderr := h.run(tt.args...); code != 0 {
				t.Fatalf("rootctl %v: exit %d: %s", tt.args[:2], code, stderr)
			}
			var calls []string
			for _, c := range h.srv.Calls() {
				if c.Account == tt.account {
					calls = append(calls, strings.TrimSpace(c.Operation+" "+c.Code))
				}
			}
			if !slices.Equal(calls, tt.calls) {
				t.Fatalf("rootctl's calls in %s: %q, want %q", tt.account, calls, tt.calls)
			}
			if err := tt.read(admin); errCode(err) != tt.readErr {
				t.Fatalf("after the unlock the administrator reads: %v, want %q", err, tt.readErr)
			}
			if err := tt.change(admin); err != nil {
				t.Fatalf("after the unlock the administrator's change: %v", err)
			}
		})
	}
}
