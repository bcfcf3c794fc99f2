package unlock

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rootctl/rootctl/rootsession"
)

// LockedResource is a bucket or queue whose policy locks everyone out,
// with the statements that do.
type LockedResource struct {
	Resource
	Locks []Lock `json:"locking_statements"`
}

// Scan is what FindLocks or FindQueueLocks found in one account.
type Scan struct {
	Buckets int              // how many buckets were read
	Queues  int              // how many queues were read
	Locked  []LockedResource // never nil
}

// FindLocks lists the account's buckets with the lease's session (the S3
// unlock task allows ListAllMyBuckets and GetBucketPolicy), reads each
// policy in the bucket's region, and returns the buckets whose policy
// locks everyone out. Nothing is changed. A session that expires midway is
// assumed once more and the scan starts over.
func FindLocks(ctx context.Context, lease *rootsession.Lease, account string) (Scan, error) {
	var scan Scan
	err := lease.Do(ctx, func(cfg aws.Config) error {
		scan = Scan{Locked: []LockedResource{}}
		buckets, err := Buckets(ctx, cfg, account)
		if err != nil {
			return err
		}
		scan.Buckets = len(buckets)
		for _, b := range buckets {
			locked, err := lockOf(ctx, cfg, b)
			if err != nil {
				return fmt.Errorf("bucket %s: %w", b.Name, err)
			}
			if locked != nil {
				scan.Locked = append(scan.Locked, *locked)
			}
		}
		return nil
	})
	return scan, err
}

// FindQueueLocks lists the account's queues in each region with the
// lease's session, which must be scoped to SQSUnlockQueuePolicy (it allows
// ListQueues and GetQueueAttributes), reads each queue's Policy attribute,
// and returns the queues whose policy locks everyone out. Nothing is
// changed. A session that expires midway is assumed once more and the scan
// starts over.
func FindQueueLocks(ctx context.Context, lease *rootsession.Lease, account string, regions []string) (Scan, error) {
	var scan Scan
	err := lease.Do(ctx, func(cfg aws.Config) error {
		scan = Scan{Locked: []LockedResource{}}
		for _, region := range regions {
			queues, err := Queues(ctx, cfg, account, region)
			if err != nil {
				return err
			}
			scan.Queues += len(queues)
			for _, q := range queues {
				locked, err := lockOf(ctx, cfg, q)
				if err != nil {
					return fmt.Errorf("queue %s (%s): %w", q.Name, q.Region, err)
				}
				if locked != nil {
					scan.Locked = append(scan.Locked, *locked)
				}
			}
		}
		return nil
	})
	return scan, err
}

// lockOf reads r's policy and returns r with its locking statements when
// the policy locks everyone out, else nil. A policy that is not valid is
// not a lockout that rootctl could name.
func lockOf(ctx context.Context, cfg aws.Config, r Resource) (*LockedResource, error) {
	policy, err := Policy(ctx, cfg, r)
	if err != nil || policy == nil {
		return nil, err
	}
	if an, err := Analyze(r.Service, r.ARN(), *policy); err == nil && an.Lockout() {
		return &LockedResource{Resource: r, Locks: an.Locks}, nil
	}
	return nil, nil
}

// Queues lists the account's queues in region (ListQueues, in pages of up
// to 1000). Each URL must name a queue of account: anything else in the
// answer is an error, not a queue to skip.
func Queues(ctx context.Context, cfg aws.Config, account, region string) ([]Resource, error) {
	var out []Resource
	p := sqs.NewListQueuesPaginator(sqsClient(cfg, region), &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListQueues in %s: %w", region, err)
		}
		for _, u := range page.QueueUrls {
			q, err := QueueFromURL(u)
			if err != nil || q.Account != account {
				return nil, fmt.Errorf("ListQueues in %s answered %q, which is not a queue URL of account %s", region, u, account)
			}
			q.Region = region // the region asked; a local endpoint's URL names none
			out = append(out, q)
		}
	}
	return out, nil
}
