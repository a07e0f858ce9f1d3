package transcode

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// progress is one block of ffmpeg's -progress report.
type progress struct {
	OutTime time.Duration // position of the output, on ffmpeg's (offset) clock
	Speed   float64       // encoding speed relative to real time; 0 when unknown
	Frames  int64
	End     bool // progress=end: ffmpeg is finishing
}

// readProgress parses -progress blocks ("key=value" lines ending with
// "progress=continue|end") and calls fn for each.
func readProgress(r io.Reader, fn func(progress)) {
	sc := bufio.NewScanner(r)
	var p progress
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "out_time_us":
			if us, err := strconv.ParseInt(v, 10, 64); err == nil {
				p.OutTime = time.Duration(us) * time.Microsecond
			}
		case "frame":
			p.Frames, _ = strconv.ParseInt(v, 10, 64)
		case "speed":
			p.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(v, "x"), 64)
		case "progress":
			p.End = v == "end"
			fn(p)
			p = progress{}
		}
	}
}
