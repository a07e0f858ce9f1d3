package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// skipLimit is how far ahead a Seek may land and still be served by
// discarding bytes of the open stream rather than by a new request; a
// stream with at most this much left is also drained on Close so its
// connection can be reused.
const skipLimit = 64 << 10

// object reads one version of an S3 object.
type object struct {
	ctx     context.Context
	s       *Store
	info    storage.Info
	rawETag string // as S3 sent it, quotes included, for If-Match

	body    io.ReadCloser // current stream, or nil
	bodyPos int64         // offset body reads next
	off     int64         // offset the caller reads next
	closed  bool
}

func newObject(ctx context.Context, s *Store, key string, out *awss3.GetObjectOutput) (*object, error) {
	raw := aws.ToString(out.ETag)
	if out.ContentLength == nil || raw == "" {
		_ = out.Body.Close()
		return nil, fmt.Errorf("storage/s3: open %q: the response has no Content-Length or ETag", key)
	}
	return &object{
		ctx: ctx,
		s:   s,
		info: storage.Info{
			Key:     key,
			Size:    *out.ContentLength,
			ModTime: aws.ToTime(out.LastModified).UTC(),
			ETag:    strings.Trim(raw, `"`),
		},
		rawETag: raw,
		body:    out.Body,
	}, nil
}

// Info describes the version this object reads.
func (o *object) Info() storage.Info { return o.info }

// Read reads from the current offset, reopening the object there (with
// If-Match) when a Seek moved away from the open stream.
func (o *object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, fmt.Errorf("storage/s3: read %q: %w", o.info.Key, errors.New("object closed"))
	}
	if o.off >= o.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := o.position(); err != nil {
		return 0, fmt.Errorf("storage/s3: read %q at %d: %w", o.info.Key, o.off, err)
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	o.bodyPos += int64(n)
	switch {
	case err == io.EOF && o.off < o.info.Size:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
	case err != nil:
		err = fmt.Errorf("storage/s3: read %q at %d: %w", o.info.Key, o.off, err)
	}
	if err != nil {
		o.dropBody()
	}
	return n, err
}

// position makes body read from off: as it is, by skipping a little, or by
// reopening at off.
func (o *object) position() error {
	if o.body != nil && o.bodyPos != o.off {
		if ahead := o.off - o.bodyPos; ahead > 0 && ahead <= skipLimit {
			n, err := io.CopyN(io.Discard, o.body, ahead)
			o.bodyPos += n
			if err != nil {
				o.dropBody()
			}
		} else {
			o.dropBody()
		}
	}
	if o.body != nil {
		return nil
	}
	return o.reopen()
}

// reopen requests the opened version from off to the end.
func (o *object) reopen() error {
	out, err := o.s.client.GetObject(o.ctx, &awss3.GetObjectInput{
		Bucket:  aws.String(o.s.bucket),
		Key:     aws.String(o.s.prefix + o.info.Key),
		Range:   aws.String("bytes=" + strconv.FormatInt(o.off, 10) + "-"),
		IfMatch: aws.String(o.rawETag),
	})
	if err != nil {
		return mapErr(err)
	}
	// Refuse a server that ignored If-Match or Range rather than return
	// bytes of another version or offset.
	if aws.ToString(out.ETag) != o.rawETag {
		_ = out.Body.Close()
		return ErrChanged
	}
	if want := "bytes " + strconv.FormatInt(o.off, 10) + "-"; !strings.HasPrefix(aws.ToString(out.ContentRange), want) {
		_ = out.Body.Close()
		return fmt.Errorf("the server answered range %q, want one starting %q", aws.ToString(out.ContentRange), want)
	}
	o.body, o.bodyPos = out.Body, o.off
	return nil
}

// dropBody closes the stream, first draining a short remainder so the
// connection can be reused.
func (o *object) dropBody() {
	if o.body == nil {
		return
	}
	if o.info.Size-o.bodyPos <= skipLimit {
		_, _ = io.CopyN(io.Discard, o.body, skipLimit+1)
	}
	_ = o.body.Close()
	o.body = nil
}

// Seek sets the offset of the next Read; it makes no request.
func (o *object) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, fmt.Errorf("storage/s3: seek %q: object closed", o.info.Key)
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.off + offset
	case io.SeekEnd:
		abs = o.info.Size + offset
	default:
		return 0, fmt.Errorf("storage/s3: seek %q: invalid whence %d", o.info.Key, whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("storage/s3: seek %q: negative position %d", o.info.Key, abs)
	}
	o.off = abs
	return abs, nil
}

// Close releases the stream. It is idempotent.
func (o *object) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	o.dropBody()
	return nil
}
