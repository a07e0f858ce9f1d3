package main

import (
	"path/filepath"
	"strconv"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// childPIDs lists the live processes whose parent is pid.
func childPIDs(pid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var kids []int
	want := strconv.Itoa(pid)
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil || p == pid {
			continue
		}
		if f := benchkit.ProcStat(p); len(f) > 1 && f[1] == want { // field 4: ppid
			kids = append(kids, p)
		}
	}
	return kids
}
