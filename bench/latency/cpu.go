package main

import (
	"os"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// cpu is CPU time used so far: the osprey Go process's own, and that of
// its running children (the ffmpeg transcoders), summed.
type cpu struct {
	at           time.Time
	osprey, kids time.Duration
}

// readCPU samples the CPU times of pid and of its current children.
func readCPU(pid int) cpu {
	c := cpu{at: time.Now(), osprey: benchkit.SelfCPU(pid)}
	for _, kid := range children(pid) {
		c.kids += benchkit.SelfCPU(kid)
	}
	return c
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := benchkit.ProcStat(n)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) { // field 4 of proc(5): the parent
			out = append(out, n)
		}
	}
	return out
}

// cores is the CPU used between two samples, in cores (CPU-seconds per
// second): the Go process and its children. A child that exited between
// the samples is not counted (a restarted transcoder: rare, logged by osprey).
func cores(a, b cpu) (osprey, kids float64) {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0, 0
	}
	return (b.osprey - a.osprey).Seconds() / wall, max(0, (b.kids-a.kids).Seconds()/wall)
}
