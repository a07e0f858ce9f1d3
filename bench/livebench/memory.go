package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

// memory measures the osprey process's resident memory (ffmpeg excluded:
// it is another process) when idle and while n channels are live, on a
// light one-rung ladder so that n transcoders fit on the machine.
func (b *bench) memory(n int) {
	conf := filepath.Join(b.work, "memory.yaml")
	err := os.WriteFile(conf, []byte(`ladders:
  bench:
    preset: ultrafast
    video:
      - {name: 360p, height: 360, bitrate: 800000}
`), 0o644)
	if err != nil {
		log.Fatal(err)
	}
	for _, channels := range []int{1, n} {
		s := startServer(b.osprey, filepath.Join(b.work, fmt.Sprintf("memory-%d", channels)), "--config", conf, "--ladder", "bench")
		pid := s.Cmd.Process.Pid
		var chans []channel
		for i := 0; i < channels; i++ {
			chans = append(chans, s.createChannel(fmt.Sprintf("memory %d", i)))
		}
		time.Sleep(2 * time.Second)
		idle := rss(pid)
		for _, ch := range chans {
			publish(b.source, ch.Ingest.RTMP)
		}
		// Steady state: sample for the middle half of the stream.
		time.Sleep(time.Duration(b.seconds) * time.Second / 4)
		var peak int64
		for end := time.Now().Add(time.Duration(b.seconds) * time.Second / 2); time.Now().Before(end); time.Sleep(time.Second) {
			peak = max(peak, rss(pid))
		}
		for _, ch := range chans {
			s.waitIdle(ch.ID)
		}
		s.stop()
		fmt.Printf("\n### Resident memory of osprey, %d live channel(s), ffmpeg excluded\n\n", channels)
		fmt.Println("| idle | peak while live | per channel |")
		fmt.Println("| --- | --- | --- |")
		fmt.Printf("| %.1f MiB | %.1f MiB | %.1f MiB |\n", mib(idle), mib(peak), mib((peak-idle)/int64(channels)))
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
