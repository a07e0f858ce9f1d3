package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DeletePrefix removes every object whose key starts with prefix: it lists
// them a page of up to 1000 at a time (ListObjectsV2) and deletes each page
// with one DeleteObjects. An empty prefix is rejected rather than emptying
// the store. Objects Put under the prefix while it runs may survive.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: empty prefix (refusing to delete everything)", ErrInvalidKey)
	}
	if err := checkChars(prefix); err != nil {
		return err
	}
	pages := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket:  aws.String(s.bucket),
		Prefix:  aws.String(s.prefix + prefix),
		MaxKeys: aws.Int32(s.pageSize),
	})
	deleted := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("storage/s3: delete prefix %q: listing after %d deleted: %w", prefix, deleted, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		if err := s.deleteBatch(ctx, page.Contents); err != nil {
			return fmt.Errorf("storage/s3: delete prefix %q: after %d deleted: %w", prefix, deleted, err)
		}
		deleted += len(page.Contents)
	}
	return nil
}

// deleteBatch deletes up to 1000 listed objects with one DeleteObjects.
func (s *Store) deleteBatch(ctx context.Context, objs []types.Object) error {
	ids := make([]types.ObjectIdentifier, len(objs))
	for i, o := range objs {
		ids[i] = types.ObjectIdentifier{Key: o.Key}
	}
	out, err := s.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
		Bucket: aws.String(s.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return err
	}
	var errs []string
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue // deleted by someone else meanwhile
		}
		errs = append(errs, fmt.Sprintf("%q: %s %s", s.trimKey(aws.ToString(e.Key)), aws.ToString(e.Code), aws.ToString(e.Message)))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
