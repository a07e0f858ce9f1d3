package transcode

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadProgress feeds readProgress arbitrary -progress output: it must
// never panic, and it reports one block per "progress=" line it reads
// (lines within the scanner's limit).
func FuzzReadProgress(f *testing.F) {
	f.Add([]byte("frame=30\nfps=29.5\nout_time_us=11000000\nspeed=0.98x\nprogress=continue\n"))
	f.Add([]byte("frame=60\nout_time_us=N/A\nspeed=N/A\nprogress=end\n"))
	f.Add([]byte("out_time_us=-9223372036854775807\nprogress=continue\nout_time_us=9223372036854775807\nprogress=end"))
	f.Add([]byte("bitrate=  12.3kbits/s\r\ntotal_size=1024\r\nout_time=00:00:01.000000\r\nprogress=continue\r\n"))
	f.Add([]byte("=\n==\nprogress\nprogress=\nspeed=1e309x\nframe=99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		blocks := 0
		readProgress(bytes.NewReader(in), func(progress) { blocks++ })
		if len(in) > 60_000 {
			return // a line may exceed bufio.Scanner's limit and end the scan
		}
		want := 0
		for _, line := range strings.Split(string(in), "\n") {
			if k, _, ok := strings.Cut(line, "="); ok && k == "progress" {
				want++
			}
		}
		if blocks != want {
			t.Fatalf("%d blocks for %d progress lines", blocks, want)
		}
	})
}
