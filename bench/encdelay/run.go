package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// config is one measured configuration: edits to the transcoder's ffmpeg
// command line, or none (what the transcoder builds today).
type config struct {
	name  string
	about string
	e     edits
	// lookahead sets Ladder.Lookahead.
	lookahead bool
}

// result is one run of one configuration.
type result struct {
	delays  map[string][]time.Duration // per rendition, steady state only
	due     map[string][]time.Duration // video: from the moment the frame could be shown (see output.due)
	bytes   map[string]int64           // per rendition, whole run
	order   []string                   // renditions in plan order
	cpu     time.Duration              // ffmpeg user+system
	dropped int64
}

// run feeds src at real time to a Supervisor running ffmpeg with config c
// and the ladder, and measures each output frame's delay: from the moment
// its input frame (same PTS; for audio, the input frame holding the output
// frame's last sample) was handed to Supervisor.WriteUnit to the moment the
// transcoder's demuxer handed the output frame on. The first warm seconds
// and the last second (ffmpeg flushes at the end of input) are left out.
func run(self, ffmpeg string, src *source, ladder transcode.Ladder, segment time.Duration, c config) (*result, error) {
	spec, err := json.Marshal(c.e)
	if err != nil {
		return nil, err
	}
	os.Setenv(envEdits, string(spec))
	os.Setenv("ENCDELAY_FFMPEG", ffmpeg)
	plan, err := transcode.NewPlan(ladder, src.tracks)
	if err != nil {
		return nil, err
	}
	o := newOutput(src, plan)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if !*verbose {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cpu0 := childCPU()
	sup := transcode.Start(transcode.Config{FFmpegPath: self, SegmentDuration: segment}, plan, src.tracks, o, log)
	start := time.Now()
	for i, e := range src.units {
		if d := time.Until(start.Add(e.unit.DTS)); d > 0 {
			time.Sleep(d)
		}
		o.sent(i, e)
		if err := sup.WriteUnit(e.track, e.unit); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sup.Close(ctx); err != nil {
		return nil, fmt.Errorf("%s: transcoder: %w", c.name, err)
	}
	st := sup.Status()
	res := o.result()
	res.cpu = childCPU() - cpu0
	res.dropped = st.Dropped
	if st.Restarts > 0 {
		return nil, fmt.Errorf("%s: ffmpeg restarted %d times", c.name, st.Restarts)
	}
	return res, nil
}

// output is the transcode.Output of a run.
type output struct {
	src  *source
	plan transcode.Plan
	warm time.Duration // frames before this input PTS are not counted
	end  time.Duration // nor those from this one on

	mu     sync.Mutex
	sentAt []time.Time   // per source unit
	video  map[int64]int // input video PTS (90 kHz ticks) → source unit
	audio  []int         // source units of audio, in PTS order
	// due[i] is, for source video unit i, the last source unit sent among
	// it and the video frames shown before it: with a publisher's
	// B-frames a frame may be sent ahead of frames it is shown after, and
	// cannot be shown before those have arrived.
	due       map[int]int
	dueDelays map[string][]time.Duration
	rends     []transcode.Rendition // from Begin
	delays    map[string][]time.Duration
	bytes     map[string]int64
}

func newOutput(src *source, plan transcode.Plan) *output {
	o := &output{
		src: src, plan: plan, warm: 3 * time.Second, end: src.dur - time.Second,
		sentAt: make([]time.Time, len(src.units)),
		video:  map[int64]int{},
		delays: map[string][]time.Duration{}, bytes: map[string]int64{},
		due: map[int]int{}, dueDelays: map[string][]time.Duration{},
	}
	var vids []int
	for i, e := range src.units {
		if e.track == 0 {
			vids = append(vids, i)
		}
	}
	sort.SliceStable(vids, func(a, b int) bool { return src.units[vids[a]].unit.PTS < src.units[vids[b]].unit.PTS })
	last := -1
	for _, i := range vids {
		last = max(last, i)
		o.due[i] = last
	}
	for i, e := range src.units {
		if e.track == 0 {
			o.video[tick(e.unit.PTS)] = i
		} else {
			o.audio = append(o.audio, i)
		}
	}
	sort.SliceStable(o.audio, func(a, b int) bool { return src.units[o.audio[a]].unit.PTS < src.units[o.audio[b]].unit.PTS })
	return o
}

func (o *output) sent(i int, _ event) {
	o.mu.Lock()
	o.sentAt[i] = time.Now()
	o.mu.Unlock()
}

func (o *output) Begin(rs []transcode.Rendition) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rends = rs
	return nil
}

func (o *output) WriteUnit(i int, u *media.Unit) error {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.rends[i]
	n := int64(len(u.Data))
	for _, nalu := range u.NALUs {
		n += int64(len(nalu))
	}
	o.bytes[r.Name] += n
	if u.PTS < o.warm || u.PTS >= o.end {
		return nil
	}
	var in int
	switch r.Track.Kind {
	case media.Video:
		// The 90 kHz round trip through MPEG-TS may lose a tick.
		k := tick(u.PTS)
		j, ok := o.video[k]
		if !ok {
			if j, ok = o.video[k-1]; !ok {
				if j, ok = o.video[k+1]; !ok {
					return nil
				}
			}
		}
		in = j
	default:
		// The input frame that holds this output frame's last sample.
		last := u.PTS + 1024*time.Second/time.Duration(r.Track.SampleRate) - time.Nanosecond
		k := sort.Search(len(o.audio), func(k int) bool { return o.src.units[o.audio[k]].unit.PTS > last }) - 1
		if k < 0 {
			return nil
		}
		in = o.audio[k]
	}
	if o.sentAt[in].IsZero() {
		return fmt.Errorf("rendition %s: output PTS %v before its input was sent", r.Name, u.PTS)
	}
	o.delays[r.Name] = append(o.delays[r.Name], now.Sub(o.sentAt[in]))
	if d, ok := o.due[in]; ok {
		// A copied frame may leave before the frames shown before it
		// have arrived: it waited for nothing.
		var late time.Duration
		if !o.sentAt[d].IsZero() {
			late = max(0, now.Sub(o.sentAt[d]))
		}
		o.dueDelays[r.Name] = append(o.dueDelays[r.Name], late)
	}
	return nil
}

func (o *output) result() *result {
	o.mu.Lock()
	defer o.mu.Unlock()
	res := &result{delays: o.delays, due: o.dueDelays, bytes: o.bytes}
	for _, r := range o.plan.Renditions {
		res.order = append(res.order, r.Name)
	}
	return res
}

// childCPU is the user+system CPU of this process's reaped children.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

// tick is d on the 90 kHz clock, rounded.
func tick(d time.Duration) int64 { return int64(math.Round(d.Seconds() * 90000)) }
