package vod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ospreyvideo/osprey/internal/probe"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// scratchReserve is the disk space a scratch copy must leave free, for
// the thumbnails and everything else on that disk.
const scratchReserve = 256 << 20

// errScratchFull is wrapped by a download refused for want of scratch
// space while other copies hold it; the attempt is retried later.
var errScratchFull = errors.New("not enough scratch space for the source")

// scratch keeps node-local copies of sources for ffprobe and ffmpeg when the
// store is not a local folder (S3). Copies live in dir (emptied by New, so
// a kill -9 leaves nothing for long) and are removed when their attempt
// ends, however it ends. Their total size is bounded by limit (0: none) and
// by the free space of dir's disk.
type scratch struct {
	dir   string
	limit int64
	// free reports the bytes available on dir's disk; -1 when unknown.
	free func(dir string) (int64, error)

	mu   sync.Mutex
	used int64
}

// fetch copies key's object into a new file of the scratch folder and
// returns its path and the function that removes it.
func (sc *scratch) fetch(ctx context.Context, store storage.Store, key, name string) (string, func(), error) {
	obj, err := store.Open(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil, &probe.Error{Reason: "the source file is missing from storage", Err: err}
	}
	if err != nil {
		return "", nil, fmt.Errorf("opening the source: %w", err)
	}
	defer obj.Close()
	size := obj.Info().Size
	if err := sc.reserve(size); err != nil {
		return "", nil, err
	}
	release := func() { sc.unreserve(size) }
	f, err := os.CreateTemp(sc.dir, name+"-*.source")
	if err != nil {
		release()
		return "", nil, fmt.Errorf("creating the scratch copy of the source: %w", err)
	}
	path := f.Name()
	remove := func() {
		_ = os.Remove(path)
		release()
	}
	n, err := io.Copy(f, ctxReader{ctx, obj})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("got %d bytes of %d", n, size)
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("copying the source to %s: %w", sc.dir, err)
	}
	return path, remove, nil
}

// reserve accounts for a copy of size bytes, or explains why it does not fit.
func (sc *scratch) reserve(size int64) error {
	if sc.limit > 0 && size > sc.limit {
		return &probe.Error{
			Reason: fmt.Sprintf("the source (%s) is larger than the scratch space for sources (%s): raise the limit", bytesText(size), bytesText(sc.limit)),
			Err:    errScratchFull,
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.limit > 0 && sc.used+size > sc.limit {
		return fmt.Errorf("%w: %s needed, %s of the %s limit held by other jobs in %s", errScratchFull,
			bytesText(size), bytesText(sc.used), bytesText(sc.limit), sc.dir)
	}
	if sc.free != nil {
		free, err := sc.free(sc.dir)
		if err != nil {
			return fmt.Errorf("checking the free space of %s: %w", sc.dir, err)
		}
		if free >= 0 && free-size < scratchReserve {
			return fmt.Errorf("%w: %s needed in %s, %s free (%s must stay free)", errScratchFull,
				bytesText(size), sc.dir, bytesText(free), bytesText(scratchReserve))
		}
	}
	sc.used += size
	return nil
}

func (sc *scratch) unreserve(size int64) {
	sc.mu.Lock()
	sc.used -= size
	sc.mu.Unlock()
}

// bytesText writes n bytes for people: "1.5 GiB".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
