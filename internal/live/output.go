package live

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// packagerOutput hands the transcoder's renditions to the packager, which
// it starts with the first output: by then the session's anchor to the wall
// clock has seen units arrive in real time, and EXT-X-PROGRAM-DATE-TIME and
// the DASH timeline tell when each frame reached Osprey.
type packagerOutput struct {
	s   *session
	pkg atomic.Pointer[packager.Live]
}

func (o *packagerOutput) Begin(rs []transcode.Rendition) error {
	pkg := o.pkg.Load()
	if pkg == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Unix(0, o.s.anchor.Load())
		var err error
		pkg, err = packager.NewLive(ctx, o.s.m.store, Prefix(o.s.ch.ID), start, o.s.m.packagerConfig(o.s.ch), o.s.log)
		if err != nil {
			return fmt.Errorf("starting the packager: %w", err)
		}
		o.pkg.Store(pkg)
	}
	prs := make([]packager.Rendition, len(rs))
	for i, r := range rs {
		prs[i] = packager.Rendition{Name: r.Name, Track: r.Track, Bitrate: r.Bitrate, MaxBitrate: r.MaxBitrate}
	}
	return pkg.Begin(prs)
}

func (o *packagerOutput) WriteUnit(i int, u *media.Unit) error { return o.pkg.Load().WriteUnit(i, u) }
