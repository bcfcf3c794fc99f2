// Package rootsession issues root sessions: it knows the five root-task
// policies, calls sts:AssumeRoot for one member account and one task, and
// hands back an aws.Config that acts as that account's root user within the
// 15-minute window.
package rootsession

import (
	"fmt"
	"strings"
)

// Task is one of the AWS managed root-task policies a root session is
// scoped to.
type Task struct {
	Name    string // policy name, e.g. IAMAuditRootUserCredentials
	Alias   string // rootctl's short name, e.g. audit
	Feature string // the IAM organization feature AssumeRoot needs for it
}

// ARN is the policy's ARN, as AssumeRoot's TaskPolicyArn takes it.
func (t Task) ARN() string { return ARNPrefix + t.Name }

func (t Task) String() string { return t.Name }

// ARNPrefix prefixes every root-task policy ARN.
const ARNPrefix = "arn:aws:iam::aws:policy/root-task/"

// Organization features of IAM that centralized root access needs.
const (
	FeatureRootCredentialsManagement = "RootCredentialsManagement"
	FeatureRootSessions              = "RootSessions"
)

// The five tasks. Source: IAM User Guide, "Perform a privileged task on an
// AWS Organizations member account" and the root-task managed policies.
var (
	Audit          = Task{"IAMAuditRootUserCredentials", "audit", FeatureRootCredentialsManagement}
	CreatePassword = Task{"IAMCreateRootUserPassword", "create-password", FeatureRootCredentialsManagement}
	Delete         = Task{"IAMDeleteRootUserCredentials", "delete", FeatureRootCredentialsManagement}
	S3Unlock       = Task{"S3UnlockBucketPolicy", "s3-unlock", FeatureRootSessions}
	SQSUnlock      = Task{"SQSUnlockQueuePolicy", "sqs-unlock", FeatureRootSessions}
)

// taskActions are the actions each task policy allows a root session
// (IAM User Guide, "AWS managed policies for IAM", the root-task
// policies): everything else is denied. The
// delete policy's DeleteVirtualMFADevice is left out, as its second
// statement denies it on any MFA device anyway.
var taskActions = map[string][]string{
	"IAMAuditRootUserCredentials": {"iam:GetAccountSummary", "iam:GetLoginProfile", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed",
		"iam:ListMFADevices", "iam:ListSigningCertificates", "iam:GetUser"},
	"IAMCreateRootUserPassword": {"iam:GetLoginProfile", "iam:CreateLoginProfile"},
	"IAMDeleteRootUserCredentials": {"iam:GetLoginProfile", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListMFADevices",
		"iam:ListSigningCertificates", "iam:GetUser", "iam:DeleteLoginProfile", "iam:DeleteAccessKey", "iam:DeactivateMFADevice",
		"iam:DeleteSigningCertificate"},
	"S3UnlockBucketPolicy": {"s3:ListAllMyBuckets", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
	"SQSUnlockQueuePolicy": {"sqs:ListQueues", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes"},
}

// Actions lists the actions the task's policy allows a root session, reads
// first: what a guardrail must not deny for the task to work.
func (t Task) Actions() []string { return append([]string(nil), taskActions[t.Name]...) }

// Tasks returns the five tasks in a stable order.
func Tasks() []Task { return []Task{Audit, CreatePassword, Delete, S3Unlock, SQSUnlock} }

// ParseTask accepts a policy name, rootctl's alias or the full policy ARN,
// case-insensitively for names and aliases.
func ParseTask(s string) (Task, error) {
	name := strings.TrimPrefix(strings.TrimSpace(s), ARNPrefix)
	for _, t := range Tasks() {
		if strings.EqualFold(name, t.Name) || strings.EqualFold(name, t.Alias) {
			return t, nil
		}
	}
	var valid []string
	for _, t := range Tasks() {
		valid = append(valid, t.Alias+" ("+t.Name+")")
	}
	return Task{}, fmt.Errorf("unknown task %q: want one of %s, or a policy ARN under %s", s, strings.Join(valid, ", "), ARNPrefix)
}
