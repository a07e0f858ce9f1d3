package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressMeter shows an upload's progress: on a terminal, a bar redrawn in
// place (percent, MB/s, ETA); elsewhere, a line at every 10 %. It is safe
// for concurrent use.
type progressMeter struct {
	w     io.Writer
	tty   bool
	total int64
	now   func() time.Time

	mu        sync.Mutex
	start     time.Time // of this run
	startDone int64     // bytes the server already had when this run began
	done      int64
	drawn     time.Time // last redraw, on a terminal
	decile    int       // last 10 % step printed, elsewhere
	finished  bool
}

const redrawEvery = 200 * time.Millisecond

func newProgressMeter(w io.Writer, total int64, now func() time.Time) *progressMeter {
	return &progressMeter{w: w, tty: isTerminal(w), total: total, now: now, start: now(), decile: -1}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// begin notes where this run starts (a resumed upload's first offset), so
// that the speed counts only bytes sent now.
func (p *progressMeter) begin(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.startDone, p.done, p.decile, p.finished = p.now(), done, done, -1, false
	p.draw(true)
}

func (p *progressMeter) update(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.done = done
	p.draw(false)
}

// finish draws the final state and ends the bar's line.
func (p *progressMeter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.draw(true)
	p.finished = true
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// note prints a message on a line of its own, then the bar again.
func (p *progressMeter) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, msg)
	if p.tty && !p.finished {
		p.draw(true)
	}
}

func (p *progressMeter) draw(force bool) {
	now := p.now()
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.done) * 100 / float64(p.total)
	}
	if p.tty {
		if !force && now.Sub(p.drawn) < redrawEvery {
			return
		}
		p.drawn = now
		const width = 30
		fill := int(pct / 100 * width)
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		fmt.Fprintf(p.w, "\r\x1b[K%5.1f%% [%s] %s of %s%s", pct, bar, formatBytes(p.done), formatBytes(p.total), p.rate(now))
		return
	}
	decile := int(pct / 10)
	if decile <= p.decile && !(force && p.decile < 0) {
		return
	}
	p.decile = decile
	fmt.Fprintf(p.w, "uploaded %3.0f%%: %s of %s%s\n", pct, formatBytes(p.done), formatBytes(p.total), p.rate(now))
}

// rate is ", 12.3 MB/s, ETA 0:42", or "" before there is anything to tell.
func (p *progressMeter) rate(now time.Time) string {
	elapsed := now.Sub(p.start).Seconds()
	sent := p.done - p.startDone
	if elapsed < 0.5 || sent <= 0 {
		return ""
	}
	bps := float64(sent) / elapsed
	s := fmt.Sprintf(", %.1f MB/s", bps/1e6)
	if left := p.total - p.done; left > 0 {
		s += ", ETA " + formatDuration(float64(left)/bps)
	}
	return s
}
