package thumbnail

import (
	"bytes"
	"fmt"
	"time"
)

// buildVTT writes the thumbnails track: n cues of interval each (the last
// one ending at duration), each pointing at its tile, w x h, in the sprite
// sheets (perSheet tiles, cols per row, filled row by row).
func buildVTT(n, cols, perSheet, w, h int, interval, duration time.Duration, sheets []string) []byte {
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for i := range n {
		start := time.Duration(i) * interval
		end := min(start+interval, duration)
		k := i % perSheet
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n",
			vttTime(start), vttTime(end), sheets[i/perSheet], k%cols*w, k/cols*h, w, h)
	}
	return b.Bytes()
}

// vttTime formats a cue time, hh:mm:ss.mmm.
func vttTime(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
