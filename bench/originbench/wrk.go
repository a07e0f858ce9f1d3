package main

import (
	"log"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/wrk"
)

// wrkResult is one wrk run.
type wrkResult = wrk.Result

// runWrk runs wrk against base for d with the script walking the segments;
// with -v it logs wrk's output.
func runWrk(o opts, script, base string, d time.Duration) (wrkResult, error) {
	args := wrk.Args(o.threads, o.conns, d, script, base)
	res, err := wrk.Run(args)
	if err == nil && o.verbose {
		log.Printf("wrk %s:\n%s", strings.Join(args, " "), res.Output)
	}
	return res, err
}
