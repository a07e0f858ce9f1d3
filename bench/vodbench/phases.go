package main

import (
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// phases splits one Osprey job's wall time: the upload from the clock's
// start to the asset's created_at, the rest from the worker's "asset
// ready" log line (internal/vod logs each phase's duration).
type phases struct {
	upload    time.Duration // the POST on loopback, until the asset exists
	queued    time.Duration // until a worker picks the job up
	probe     time.Duration // ffprobe
	transcode time.Duration // ffmpeg start to exit, the Go packaging, the packager's end
	finish    time.Duration // thumbnails, publish, ready
}

// phasesOf reads the phases from the asset's "asset ready" log record.
func phasesOf(start, created time.Time, rec map[string]any) phases {
	d := func(name string) time.Duration {
		v, _ := rec[name].(float64) // slog's JSON writes durations in nanoseconds
		return time.Duration(v)
	}
	return phases{upload: created.Sub(start), queued: d("queued"), probe: d("probe"), transcode: d("transcode"), finish: d("finish")}
}

// sum is the whole job.
func (p phases) sum() time.Duration { return p.upload + p.queued + p.probe + p.transcode + p.finish }

// medianPhases is the per-phase median of several jobs.
func medianPhases(ps []phases) phases {
	med := func(f func(phases) time.Duration) time.Duration {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = float64(f(p))
		}
		return time.Duration(benchkit.Median(v))
	}
	return phases{
		upload:    med(func(p phases) time.Duration { return p.upload }),
		queued:    med(func(p phases) time.Duration { return p.queued }),
		probe:     med(func(p phases) time.Duration { return p.probe }),
		transcode: med(func(p phases) time.Duration { return p.transcode }),
		finish:    med(func(p phases) time.Duration { return p.finish }),
	}
}

// phaseHeader is the header of the table row writes.
const phaseHeader = "| round | upload | queued | ffprobe | transcode + packaging | thumbnails + publish | plain ffmpeg | Osprey outside the transcode |\n" +
	"| --- | --- | --- | --- | --- | --- | --- | --- |"

func (p phases) row(label string, plain time.Duration) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("| %s | %s | %s | %s | %.2f s | %s | %.2f s | %s |", label, ms(p.upload), ms(p.queued), ms(p.probe),
		p.transcode.Seconds(), ms(p.finish), plain.Seconds(), ms(p.sum()-p.transcode))
}
