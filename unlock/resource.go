package unlock

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// Services whose resource policies rootctl unlocks.
const (
	S3  = "s3"
	SQS = "sqs"
)

// Task is the root-task policy that unlocks service's resources.
func Task(service string) rootsession.Task {
	if service == SQS {
		return rootsession.SQSUnlock
	}
	return rootsession.S3Unlock
}

// Resource is a bucket or queue of a member account.
type Resource struct {
	Service string `json:"service"` // s3 or sqs
	Account string `json:"account"`
	Name    string `json:"name"`
	Region  string `json:"region"`
	URL     string `json:"queue_url,omitempty"` // queues only
}

// ARN is the resource's ARN, as policies name it.
func (r Resource) ARN() string {
	if r.Service == SQS {
		return "arn:aws:sqs:" + r.Region + ":" + r.Account + ":" + r.Name
	}
	return "arn:aws:s3:::" + r.Name
}

func (r Resource) String() string {
	if r.Service == SQS {
		return "queue " + r.Name + " (" + r.Region + ")"
	}
	return "bucket " + r.Name + " (" + r.Region + ")"
}

// ErrNotFound is returned when the bucket or queue is not in the account.
var ErrNotFound = errors.New("not found")

// s3Client addresses a bucket in its own region (GetBucketPolicy must),
// path style when the endpoint is not AWS's own.
func s3Client(cfg aws.Config, region string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
		o.UsePathStyle = cfg.BaseEndpoint != nil
	})
}

// Buckets lists the account's buckets with their regions (ListBuckets
// gives BucketRegion when MaxBuckets is set).
func Buckets(ctx context.Context, cfg aws.Config, account string) ([]Resource, error) {
	var out []Resource
	p := s3.NewListBucketsPaginator(s3Client(cfg, ""), &s3.ListBucketsInput{MaxBuckets: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListBuckets: %w", err)
		}
		for _, b := range page.Buckets {
			out = append(out, Resource{Service: S3, Account: account, Name: aws.ToString(b.Name), Region: aws.ToString(b.BucketRegion)})
		}
	}
	return out, nil
}

// Locate finds the bucket or queue name of account with a session of the
// service's unlock task: its region for a bucket, its URL for a queue.
// name may be a queue URL, which is only parsed: reading the queue's policy
// (Policy) is what then proves it exists.
func Locate(ctx context.Context, cfg aws.Config, service, account, name string) (Resource, error) {
	if service == SQS {
		return locateQueue(ctx, cfg, account, name)
	}
	buckets, err := Buckets(ctx, cfg, account)
	if err != nil {
		return Resource{}, err
	}
	for _, b := range buckets {
		if b.Name == name {
			return b, nil
		}
	}
	return Resource{}, fmt.Errorf("bucket %q is not in account %s: %w", name, account, ErrNotFound)
}

// QueueFromURL reads the account, region and name from a queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME). A URL without a region
// in its host (a local endpoint) gets the region "". The URL is sent to
// SQS as it is written, so it must be nothing but that: a user, a query,
// a fragment or an escape could make the queue SQS reads differ from the
// one the path names here.
func QueueFromURL(raw string) (Resource, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || strings.ContainsAny(raw, "?#%") {
		return Resource{}, fmt.Errorf("queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME", raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || !awserr.ValidAccountID(parts[0]) || parts[1] == "" {
		return Resource{}, fmt.Errorf("queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME", raw)
	}
	r := Resource{Service: SQS, Account: parts[0], Name: parts[1], URL: raw}
	host := strings.Split(u.Hostname(), ".")
	switch {
	case len(host) >= 3 && host[0] == "sqs":
		r.Region = host[1]
	case len(host) >= 3 && host[1] == "queue":
		r.Region = host[0]
	}
	return r, nil
}

func locateQueue(ctx context.Context, cfg aws.Config, account, name string) (Resource, error) {
	if strings.Contains(name, "://") {
		r, err := QueueFromURL(name)
		if err != nil {
			return Resource{}, err
		}
		if r.Region == "" {
			r.Region = cfg.Region
		}
		if r.Account != account {
			return Resource{}, fmt.Errorf("queue URL %s is in account %s, not %s: %w", name, r.Account, account, ErrNotFound)
		}
		return r, nil // reading its policy next proves it exists
	}
	out, err := sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name), QueueOwnerAWSAccountId: aws.String(account)})
	switch {
	case isNoQueue(err):
		return Resource{}, fmt.Errorf("queue %q is not in account %s in %s (pass --region, or the queue URL): %w", name, account, cfg.Region, ErrNotFound)
	case awserr.Code(err) == "AccessDenied":
		// The queue exists (a missing one answers NonExistentQueue) but its
		// policy refuses GetQueueUrl, which the root user's exemption may
		// not cover: the policy is read and written with the URL's
		// documented form, and reading it proves the queue is there.
		return Resource{Service: SQS, Account: account, Name: name, Region: cfg.Region, URL: queueURL(cfg, account, name)}, nil
	case err != nil:
		return Resource{}, fmt.Errorf("GetQueueUrl: %w", err)
	}
	return Resource{Service: SQS, Account: account, Name: name, Region: cfg.Region, URL: aws.ToString(out.QueueUrl)}, nil
}

// queueURL is a queue's URL in the form the SQS Developer Guide documents
// ("Amazon SQS queue and message identifiers"):
// https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME, or under a custom
// endpoint (the simulator) ENDPOINT/ACCOUNT_ID/NAME.
func queueURL(cfg aws.Config, account, name string) string {
	if cfg.BaseEndpoint != nil {
		return strings.TrimRight(*cfg.BaseEndpoint, "/") + "/" + account + "/" + name
	}
	host := "sqs." + cfg.Region + ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		host += ".cn"
	}
	return "https://" + host + "/" + account + "/" + name
}

func isNoQueue(err error) bool {
	code := awserr.Code(err)
	return code == "AWS.SimpleQueueService.NonExistentQueue" || code == "QueueDoesNotExist"
}

func sqsClient(cfg aws.Config, region string) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if region != "" {
			o.Region = region
		}
	})
}

// Policy reads r's resource policy; nil when it has none.
func Policy(ctx context.Context, cfg aws.Config, r Resource) (*string, error) {
	if r.Service == SQS {
		return queuePolicy(ctx, cfg, r)
	}
	out, err := s3Client(cfg, r.Region).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(r.Name)})
	if awserr.Code(err) == "NoSuchBucketPolicy" {
		return nil, nil
	}
	if err != nil {
		if awserr.Code(err) == "NoSuchBucket" {
			return nil, fmt.Errorf("bucket %q: %w", r.Name, ErrNotFound)
		}
		return nil, fmt.Errorf("GetBucketPolicy: %w", err)
	}
	return out.Policy, nil
}

func queuePolicy(ctx context.Context, cfg aws.Config, r Resource) (*string, error) {
	out, err := sqsClient(cfg, r.Region).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(r.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy}})
	if err != nil {
		if isNoQueue(err) {
			return nil, fmt.Errorf("queue %s: %w", r.URL, ErrNotFound)
		}
		return nil, fmt.Errorf("GetQueueAttributes: %w", err)
	}
	if p, ok := out.Attributes[string(sqstypes.QueueAttributeNamePolicy)]; ok && p != "" {
		return &p, nil
	}
	return nil, nil
}

// SetPolicy replaces r's policy with policy, or deletes it when policy is
// nil. It returns the AWS request ID.
func SetPolicy(ctx context.Context, cfg aws.Config, r Resource, policy *string) (string, error) {
	if r.Service == SQS {
		// An empty Policy attribute removes the queue's policy.
		out, err := sqsClient(cfg, r.Region).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl: aws.String(r.URL), Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): aws.ToString(policy)}})
		if err != nil {
			return awserr.RequestID(err), fmt.Errorf("SetQueueAttributes: %w", err)
		}
		return awserr.ResultRequestID(out.ResultMetadata), nil
	}
	c := s3Client(cfg, r.Region)
	if policy == nil {
		out, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(r.Name)})
		if err != nil {
			return awserr.RequestID(err), fmt.Errorf("DeleteBucketPolicy: %w", err)
		}
		return awserr.ResultRequestID(out.ResultMetadata), nil
	}
	out, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(r.Name), Policy: policy})
	if err != nil {
		return awserr.RequestID(err), fmt.Errorf("PutBucketPolicy: %w", err)
	}
	return awserr.ResultRequestID(out.ResultMetadata), nil
}
