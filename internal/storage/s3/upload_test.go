package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// errAfter yields n zero bytes, then err.
type errAfter struct {
	n   int
	err error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// TestUploadLeavesNoParts: a multipart Upload cut off by its reader or by
// its context aborts the multipart upload, so the bucket keeps no parts
// (which S3 would bill and never show in a listing of objects).
func TestUploadLeavesNoParts(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t, "p")
	boom := errors.New("client gone")
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		r    func(cancel context.CancelFunc) io.Reader
		want error
	}{
		{"reader fails after 3 parts", cancellable, func(context.CancelFunc) io.Reader {
			return &errAfter{n: 3*s3.DefaultPartSize + 10, err: boom}
		}, boom},
		{"context cancelled after 2 parts", cancellable, func(cancel context.CancelFunc) io.Reader {
			return io.MultiReader(&errAfter{n: 2*s3.DefaultPartSize + 10, err: io.EOF}, readerFunc(func(p []byte) (int, error) {
				cancel()
				return len(p), nil // endless: only the context stops it
			}))
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			if _, err := s.Upload(ctx, "sources/a/source", tt.r(cancel)); !errors.Is(err, tt.want) {
				t.Fatalf("Upload = %v, want %v", err, tt.want)
			}
			ups, err := s.ListUploads(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ups) > 0 {
				t.Errorf("multipart uploads left: %+v", ups)
			}
			if objs, err := s.List(context.Background(), ""); err != nil || len(objs) > 0 {
				t.Errorf("objects left: %v, %v", objs, err)
			}
		})
	}
}

func cancellable() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestPendingUploads: List, ListUploads, LastPartTime and AbortUpload,
// which the uploads janitor uses, see keys without the store's prefix, see
// a pending multipart upload and remove it.
func TestPendingUploads(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t, "tenant")
	ctx := context.Background()
	if _, err := s.Upload(ctx, "uploads/x", bytes.NewReader(make([]byte, s3.DefaultPartSize+1))); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "uploads/")
	if err != nil || len(infos) != 1 || infos[0].Key != "uploads/x" || infos[0].Size != s3.DefaultPartSize+1 || infos[0].ETag == "" {
		t.Fatalf("List = %+v, %v", infos, err)
	}
	created, err := s.Client().CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket: aws.String(s.Bucket()), Key: aws.String(s.KeyPrefix() + "uploads/y"),
	})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Minute)
	if _, err := s.Client().UploadPart(ctx, &awss3.UploadPartInput{
		Bucket: aws.String(s.Bucket()), Key: aws.String(s.KeyPrefix() + "uploads/y"), UploadId: created.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part")), ContentLength: aws.Int64(4),
	}); err != nil {
		t.Fatal(err)
	}
	ups, err := s.ListUploads(ctx, "uploads/")
	if err != nil || len(ups) != 1 || ups[0].Key != "uploads/y" || ups[0].UploadID != aws.ToString(created.UploadId) {
		t.Fatalf("ListUploads = %+v, %v", ups, err)
	}
	if last, err := s.LastPartTime(ctx, "uploads/y", ups[0].UploadID); err != nil || last.Before(before) {
		t.Errorf("LastPartTime = %v, %v; want after %v", last, err, before)
	}
	if err := s.AbortUpload(ctx, "uploads/y", ups[0].UploadID); err != nil {
		t.Fatal(err)
	}
	if ups, err := s.ListUploads(ctx, ""); err != nil || len(ups) != 0 {
		t.Errorf("after AbortUpload: %+v, %v", ups, err)
	}
}
