package clip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Index reads a channel's DVR index for clips, through dvr.Reader (the
// reader the origin's time-shifted playlists use), with a clip's stricter
// reading of it: the whole span must lie inside the DVR window, and start
// inside a session (never in a gap between two).
type Index struct {
	Store storage.Store
}

func (x Index) reader() *dvr.Reader { return dvr.NewReader(x.Store, dvr.ReaderOptions{}) }

// Span implements Spanner: the segments overlapping [start, end) of the
// session holding start (a span running past the end of that session is
// cut there: two sessions may have different ladders and timelines).
// The DVR window is from the start of the oldest kept segment to the end
// of the newest; a span not inside it is a *WindowError.
func (x Index) Span(ctx context.Context, prefix string, start, end time.Time) (*manifest.View, error) {
	f, err := x.reader().Find(ctx, prefix, start, end)
	var we *dvr.WindowError
	switch {
	case errors.Is(err, dvr.ErrNoIndex):
		return nil, fmt.Errorf("clip: %s: %w", prefix, ErrNeverLive)
	case errors.As(err, &we):
		return nil, &WindowError{From: we.From, To: we.To}
	case errors.Is(err, dvr.ErrNoMedia): // a span inside a gap between sessions
		from, to, berr := x.reader().Bounds(ctx, prefix)
		if berr != nil {
			return nil, berr
		}
		return nil, &WindowError{From: from, To: to}
	case err != nil:
		return nil, err
	}
	if end.After(f.To) { // not recorded yet: a clip never ends early
		return nil, &WindowError{From: f.From, To: f.To}
	}
	v := Select(f.View, start, end)
	if len(v.Window) == 0 || startOfSpan(v).After(start) { // start in a gap between sessions
		return nil, &WindowError{From: f.From, To: f.To}
	}
	return v, nil
}

// Session returns every kept segment of the channel's session in
// directory dir ("s{k}"; "" names the newest) as one View (its Dir says
// which).
func (x Index) Session(ctx context.Context, prefix, dir string) (*manifest.View, error) {
	v, err := x.reader().Session(ctx, prefix, dir)
	if errors.Is(err, dvr.ErrNoIndex) || errors.Is(err, dvr.ErrNoMedia) {
		return nil, fmt.Errorf("clip: %s session %q: %w", prefix, dir, ErrNeverLive)
	}
	return v, err
}

func startOfSpan(v *manifest.View) time.Time {
	from, _ := Bounds(v)
	return from
}

// read returns the object under key.
func read(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	obj, err := store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("clip: opening %s: %w", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("clip: reading %s: %w", key, err)
	}
	return data, nil
}
