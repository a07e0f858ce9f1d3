package origin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
)

// A channel's DVR window, for players (the player page's seek bar):
//
//	GET /live/{channel}/dvr-window.json
//	{"from":"2026-12-07T20:00:00.000Z","to":"2026-12-07T21:59:58.000Z"}
//
// from is the media start of the oldest segment kept, to the media end of
// the newest; both are instants ?start= and ?end= take. It is cached like
// a live playlist; 404 (no-cache) when the channel has no DVR index. It
// needs no credentials and goes through the edge like any media object.

// dvrWindowName is the file name of a channel's DVR window.
const dvrWindowName = "dvr-window.json"

// dvrCachedChunks is how many sealed DVR chunks an origin keeps decoded
// (about 30 KB each for a 4-rendition ladder).
const dvrCachedChunks = 512

// dvrIndexReuse is how long the origin answers a channel's time-shifted
// requests from one read of its DVR index head (dvr.json and the newest
// chunk): a quarter of a segment, so that a time-shifted playlist is at
// most that late and any number of players cost a few store reads per
// second per channel.
func dvrIndexReuse(segDur time.Duration) time.Duration {
	if segDur <= 0 {
		segDur = defaultSegDur
	}
	return segDur / 4
}

// isDVRWindow reports whether the path below a mount is {channel}/dvr-window.json.
func isDVRWindow(rest string) bool {
	ch, name, ok := strings.Cut(rest, "/")
	return ok && ch != "" && name == dvrWindowName
}

type dvrWindow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (o *Origin) serveDVRWindow(w http.ResponseWriter, r *http.Request, key string) {
	prefix := strings.TrimSuffix(key, "/"+dvrWindowName)
	from, to, err := o.dvr.Bounds(r.Context(), prefix)
	switch {
	case errors.Is(err, dvr.ErrNoIndex):
		o.failWith(w, http.StatusNotFound, "no DVR window for this channel")
		return
	case err != nil:
		if r.Context().Err() == nil {
			o.log.Error("reading the DVR window", "prefix", prefix, "err", err)
		}
		o.fail(w, http.StatusInternalServerError)
		return
	}
	body, _ := json.Marshal(dvrWindow{From: from.UTC().Format(instantLayout), To: to.UTC().Format(instantLayout)}) // strings only
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", o.liveCC)
	o.sendManifest(w, r, key, body, "dvr"+bodyHash(body), time.Time{})
}
