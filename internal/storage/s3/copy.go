package s3

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// maxCopyObject is the largest object one CopyObject copies (5 GiB); larger
// ones are copied with UploadPartCopy in copyPartSize ranges.
const (
	maxCopyObject = 5 << 30
	copyPartSize  = 1 << 30
)

// Copy copies src to dst inside the bucket (server-side: no byte passes
// through Osprey). Up to 5 GiB it is one CopyObject; beyond, a multipart
// upload of UploadPartCopy ranges, aborted on failure.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	if err := checkKey(src); err != nil {
		return err
	}
	if err := checkKey(dst); err != nil {
		return err
	}
	head, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + src)})
	if err != nil {
		return fmt.Errorf("storage/s3: copy %q: %w", src, mapErr(err))
	}
	size := aws.ToInt64(head.ContentLength)
	source := s.copySource(src)
	if size <= maxCopyObject {
		_, err := s.client.CopyObject(ctx, &awss3.CopyObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + dst),
			CopySource: aws.String(source), CopySourceIfMatch: head.ETag,
		})
		if err != nil {
			return fmt.Errorf("storage/s3: copy %q to %q: %w", src, dst, mapErr(err))
		}
		return nil
	}
	if err := s.copyParts(ctx, source, dst, size, head.ETag); err != nil {
		return fmt.Errorf("storage/s3: copy %q to %q: %w", src, dst, err)
	}
	return nil
}

// copySource is the x-amz-copy-source of key: bucket/key, every byte but
// the unreserved ones and "/" percent-encoded (servers differ on "+",
// which some decode as a space).
func (s *Store) copySource(key string) string {
	var b strings.Builder
	for _, c := range []byte(s.bucket + "/" + s.prefix + key) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (s *Store) copyParts(ctx context.Context, source, dst string, size int64, etag *string) (err error) {
	full := s.prefix + dst
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(full)})
	if err != nil {
		return fmt.Errorf("starting a multipart copy: %w", err)
	}
	defer func() {
		if err != nil {
			if aerr := s.abort(full, created.UploadId); aerr != nil {
				err = fmt.Errorf("%w (and aborting the multipart copy failed: %w)", err, aerr)
			}
		}
	}()
	var parts []types.CompletedPart
	for off, num := int64(0), int32(1); off < size; off, num = off+copyPartSize, num+1 {
		end := min(off+copyPartSize, size) - 1
		out, err := s.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{
			Bucket: aws.String(s.bucket), Key: aws.String(full), UploadId: created.UploadId, PartNumber: aws.Int32(num),
			CopySource: aws.String(source), CopySourceIfMatch: etag,
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err != nil {
			return fmt.Errorf("copying part %d: %w", num, mapErr(err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(num)})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(full), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("completing the multipart copy: %w", err)
	}
	return nil
}
