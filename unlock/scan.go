package unlock

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootctl/rootctl/rootsession"
)

// LockedBucket is a bucket whose policy locks everyone out, with the
// statements that do.
type LockedBucket struct {
	Resource
	Locks []Lock `json:"locking_statements"`
}

// Scan is what FindLocks found in one account.
type Scan struct {
	Buckets int            // how many buckets were read
	Locked  []LockedBucket // never nil
}

// FindLocks lists the account's buckets with the lease's session (the S3
// unlock task allows ListAllMyBuckets and GetBucketPolicy), reads each
// policy in the bucket's region, and returns the buckets whose policy
// locks everyone out. Nothing is changed. A session that expires midway is
// assumed once more and the scan starts over.
func FindLocks(ctx context.Context, lease *rootsession.Lease, account string) (Scan, error) {
	var scan Scan
	err := lease.Do(ctx, func(cfg aws.Config) error {
		scan = Scan{Locked: []LockedBucket{}}
		buckets, err := Buckets(ctx, cfg, account)
		if err != nil {
			return err
		}
		scan.Buckets = len(buckets)
		for _, b := range buckets {
			policy, err := Policy(ctx, cfg, b)
			if err != nil {
				return fmt.Errorf("bucket %s: %w", b.Name, err)
			}
			if policy == nil {
				continue
			}
			if an, err := Analyze(S3, b.ARN(), *policy); err == nil && an.Lockout() {
				scan.Locked = append(scan.Locked, LockedBucket{Resource: b, Locks: an.Locks})
			}
		}
		return nil
	})
	return scan, err
}
