package s3

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Multipart sizes. An upload holds at most (uploadConcurrency+1) parts in
// memory (24 MiB by default); with 10,000 parts at most, the largest
// stream Upload takes is about 78 GiB.
const (
	DefaultPartSize   = 8 << 20
	minPartSize       = 5 << 20 // S3's minimum for every part but the last
	maxParts          = 10000
	uploadConcurrency = 2
	abortTimeout      = 30 * time.Second
)

var (
	_ storage.Uploader = (*Store)(nil)
	_ storage.Copier   = (*Store)(nil)
)

// Upload stores r's bytes under key. A stream that ends within the first
// part is one PutObject; a longer one is a multipart upload of
// DefaultPartSize parts, two sent at a time, completed only at r's EOF (S3
// makes the object visible at CompleteMultipartUpload, atomically). When r
// fails, ctx ends or S3 refuses a part, the multipart upload is aborted
// (with a context of its own, so a cancelled caller leaves no parts).
func (s *Store) Upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage/s3: upload %q: %w", key, err)
	}
	first := make([]byte, DefaultPartSize)
	n, err := io.ReadFull(r, first)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("storage/s3: upload %q: %w", key, err)
		}
		if err := s.Put(ctx, key, first[:n]); err != nil {
			return 0, err
		}
		return int64(n), nil
	case err != nil:
		return 0, fmt.Errorf("storage/s3: upload %q: reading: %w", key, err)
	}
	total, err := s.multipart(ctx, key, first, r)
	if err != nil {
		return 0, fmt.Errorf("storage/s3: upload %q: %w", key, err)
	}
	return total, nil
}

// multipart sends first and the rest of r as a multipart upload.
func (s *Store) multipart(ctx context.Context, key string, first []byte, r io.Reader) (total int64, err error) {
	full := s.prefix + key
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(full),
	})
	if err != nil {
		return 0, fmt.Errorf("starting a multipart upload: %w", err)
	}
	uploadID := created.UploadId
	defer func() {
		if err != nil {
			if aerr := s.abort(full, uploadID); aerr != nil {
				err = fmt.Errorf("%w (and aborting the multipart upload %s failed: %w)", err, aws.ToString(uploadID), aerr)
			}
		}
	}()

	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []types.CompletedPart
	)
	// free holds the buffers not being sent or filled: reading waits for
	// one, which bounds the memory to uploadConcurrency+1 parts.
	free := make(chan []byte, uploadConcurrency+1)
	for range uploadConcurrency {
		free <- make([]byte, len(first))
	}
	send := func(num int32, buf []byte) {
		defer wg.Done()
		out, err := s.client.UploadPart(pctx, &awss3.UploadPartInput{
			Bucket: aws.String(s.bucket), Key: aws.String(full), UploadId: uploadID,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))),
		})
		free <- buf[:cap(buf)]
		if err != nil {
			cancel(fmt.Errorf("sending part %d: %w", num, err))
			return
		}
		mu.Lock()
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		mu.Unlock()
	}

	buf, n := first, len(first)
	var readErr error
	for num := int32(1); ; num++ {
		if num > maxParts {
			readErr = fmt.Errorf("the stream is longer than %d parts of %d bytes", maxParts, len(first))
			break
		}
		total += int64(n)
		wg.Add(1)
		go send(num, buf[:n])
		if readErr != nil {
			break
		}
		select {
		case buf = <-free:
		case <-pctx.Done():
		}
		if pctx.Err() != nil {
			break
		}
		n, readErr = io.ReadFull(r, buf)
		if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
			readErr = io.EOF
			if n == 0 {
				break
			}
		} else if readErr != nil {
			readErr = fmt.Errorf("reading: %w", readErr)
			break
		}
	}
	wg.Wait()
	switch {
	case readErr != nil && !errors.Is(readErr, io.EOF):
		return 0, readErr
	case context.Cause(pctx) != nil:
		return 0, context.Cause(pctx)
	}
	sortParts(parts)
	if _, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(full), UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		return 0, fmt.Errorf("completing the multipart upload: %w", err)
	}
	return total, nil
}

// abort aborts a multipart upload, with a context of its own: the caller's
// may be what ended the upload.
func (s *Store) abort(full string, uploadID *string) error {
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(full), UploadId: uploadID,
	})
	return err
}

func sortParts(parts []types.CompletedPart) {
	slices.SortFunc(parts, func(a, b types.CompletedPart) int {
		return cmp.Compare(aws.ToInt32(a.PartNumber), aws.ToInt32(b.PartNumber))
	})
}
