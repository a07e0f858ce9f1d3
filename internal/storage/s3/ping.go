package s3

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Ping checks that the bucket answers with these credentials (HeadBucket),
// for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("storage/s3: bucket %q at %s: %w", s.bucket, s.where, err)
	}
	return nil
}

// Where names the bucket and its endpoint, without secrets, for messages.
func (s *Store) Where() string { return fmt.Sprintf("s3 bucket %s at %s", s.bucket, s.where) }
