package main

import (
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/wrk"
)

// wrkResult is one wrk run.
type wrkResult = wrk.Result

// wrkArgs is wrk's command line for a run of duration against base.
func wrkArgs(o opts, duration time.Duration, script, base string) []string {
	return wrk.Args(o.threads, o.conns, duration, script, base)
}
