package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// List returns every object whose key starts with prefix (keys without the
// store's prefix), in key order. The uploads janitor and tests use it.
func (s *Store) List(ctx context.Context, prefix string) ([]storage.Info, error) {
	if err := checkChars(prefix); prefix != "" && err != nil {
		return nil, err
	}
	pages := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix), MaxKeys: aws.Int32(s.pageSize),
	})
	var infos []storage.Info
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("storage/s3: listing %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			infos = append(infos, storage.Info{
				Key: s.trimKey(aws.ToString(o.Key)), Size: aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified), ETag: strings.Trim(aws.ToString(o.ETag), `"`),
			})
		}
	}
	return infos, nil
}

// PendingUpload is a multipart upload begun and neither completed nor
// aborted.
type PendingUpload struct {
	Key       string // without the store's prefix
	UploadID  string
	Initiated time.Time
}

// ListUploads returns the multipart uploads pending under prefix.
func (s *Store) ListUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	in := &awss3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix)}
	var ups []PendingUpload
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("storage/s3: listing multipart uploads under %q: %w", prefix, err)
		}
		for _, u := range out.Uploads {
			ups = append(ups, PendingUpload{Key: s.trimKey(aws.ToString(u.Key)), UploadID: aws.ToString(u.UploadId), Initiated: aws.ToTime(u.Initiated)})
		}
		if !aws.ToBool(out.IsTruncated) {
			return ups, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// LastPartTime returns when the newest part of a pending multipart upload
// was stored (zero when it has none).
func (s *Store) LastPartTime(ctx context.Context, key, uploadID string) (time.Time, error) {
	pages := awss3.NewListPartsPaginator(s.client, &awss3.ListPartsInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), UploadId: aws.String(uploadID),
	})
	var last time.Time
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("storage/s3: listing the parts of %q: %w", key, mapErr(err))
		}
		for _, p := range page.Parts {
			if t := aws.ToTime(p.LastModified); t.After(last) {
				last = t
			}
		}
	}
	return last, nil
}

// AbortUpload aborts a pending multipart upload: its parts are deleted.
func (s *Store) AbortUpload(ctx context.Context, key, uploadID string) error {
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), UploadId: aws.String(uploadID),
	})
	if err != nil {
		return fmt.Errorf("storage/s3: aborting the multipart upload of %q: %w", key, mapErr(err))
	}
	return nil
}

// Client is the SDK client, for code that speaks S3 itself (tusd's
// s3store); it must address objects as Bucket() and KeyPrefix() say.
func (s *Store) Client() *awss3.Client { return s.client }

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// KeyPrefix is what the store puts before every key in the bucket: "" or a
// prefix ending in "/".
func (s *Store) KeyPrefix() string { return s.prefix }
