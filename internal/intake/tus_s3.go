package intake

import (
	"context"
	"errors"
	"io"

	tus "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"
)

// errRequestEnded cancels the S3 requests of a tus request that ended.
var errRequestEnded = errors.New("the tus request ended")

// detach returns a context that is cancelled when parent is, but shares
// nothing else with it. tusd's request context (v2.8.0) changes its own
// fields while the request runs; the HTTP transport of the S3 SDK walks a
// finished request's context chain from its own goroutine (when it removes
// the request's cancel function), which reads those fields: a data race
// (tus/tusd#1192). S3 calls made under a detached context never reach it.
func detach(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := context.AfterFunc(parent, func() { cancel(errRequestEnded) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// detachedStore is tusd's s3store whose S3 calls run under detached
// contexts (see detach).
type detachedStore struct {
	s3 s3store.S3Store
}

func (d detachedStore) NewUpload(ctx context.Context, info tus.FileInfo) (tus.Upload, error) {
	ctx, done := detach(ctx)
	defer done()
	up, err := d.s3.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	return detachedUpload{up: up, term: d.s3.AsTerminatableUpload(up)}, nil
}

func (d detachedStore) GetUpload(ctx context.Context, id string) (tus.Upload, error) {
	ctx, done := detach(ctx)
	defer done()
	up, err := d.s3.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return detachedUpload{up: up, term: d.s3.AsTerminatableUpload(up)}, nil
}

func (d detachedStore) AsTerminatableUpload(up tus.Upload) tus.TerminatableUpload {
	return up.(detachedUpload)
}

type detachedUpload struct {
	up   tus.Upload
	term tus.TerminatableUpload
}

func (u detachedUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	ctx, done := detach(ctx)
	defer done()
	return u.up.WriteChunk(ctx, offset, src)
}

func (u detachedUpload) GetInfo(ctx context.Context) (tus.FileInfo, error) {
	ctx, done := detach(ctx)
	defer done()
	return u.up.GetInfo(ctx)
}

func (u detachedUpload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	return nil, errors.New("intake: tus downloads are disabled")
}

func (u detachedUpload) FinishUpload(ctx context.Context) error {
	ctx, done := detach(ctx)
	defer done()
	return u.up.FinishUpload(ctx)
}

func (u detachedUpload) Terminate(ctx context.Context) error {
	ctx, done := detach(ctx)
	defer done()
	return u.term.Terminate(ctx)
}
