package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/ospreyvideo/osprey/bench/internal/wrk"
)

// profileEdges records, with perf, where each edge spends its CPU under
// the same hit loads as the measured rounds (an extra, unmeasured run per
// edge), and writes perf's reports into o.profile: <edge>-<set>.txt, by
// symbol and by shared object, plus the perf.data files.
func (b *bench) profileEdges() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf is not installed (apt-get install linux-perf)")
	}
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return err
	}
	for _, name := range b.o.edges {
		if err := b.profileOne(name); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) profileOne(name string) error {
	dir := filepath.Join(b.work, "profile-"+name)
	defer os.RemoveAll(dir)
	s, err := b.startServer(name, dir)
	if err != nil {
		return err
	}
	defer s.stop()
	if err := b.warm(s); err != nil {
		return err
	}
	pids := []int{s.cmd.Process.Pid}
	pids = append(pids, childPIDs(s.cmd.Process.Pid)...)
	pidList := ""
	for i, p := range pids {
		if i > 0 {
			pidList += ","
		}
		pidList += strconv.Itoa(p)
	}
	for _, set := range b.sets {
		base := filepath.Join(b.o.profile, name+"-"+set.name)
		perf := exec.Command("perf", "record", "-F", "499", "-g", "-p", pidList, "-o", base+".perf.data",
			"--", "sleep", strconv.Itoa(int(b.o.duration.Seconds())))
		perf.Stderr = os.Stderr
		if err := perf.Start(); err != nil {
			return fmt.Errorf("starting perf: %w", err)
		}
		w, err := wrk.Run(wrkArgs(b.o, b.o.duration, set.script, s.Base))
		if perr := perf.Wait(); perr != nil && err == nil {
			err = fmt.Errorf("perf record: %w", perr)
		}
		if err != nil {
			return err
		}
		log.Printf("profile %s %s (perf attached): %.0f req/s, p99 %s", name, set.name, w.RPS(), fmtMs(w.P99))
		f, err := os.Create(base + ".txt")
		if err != nil {
			return err
		}
		for _, sort := range []string{"dso", "symbol"} {
			fmt.Fprintf(f, "### perf report --no-children --sort %s\n", sort)
			rep := exec.Command("perf", "report", "-i", base+".perf.data", "--stdio", "--no-children",
				"-g", "none", "--percent-limit", "0.5", "--sort", sort)
			rep.Stdout, rep.Stderr = f, f
			if err := rep.Run(); err != nil {
				f.Close()
				return fmt.Errorf("perf report: %w", err)
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		log.Printf("wrote %s.txt", base)
	}
	return nil
}
