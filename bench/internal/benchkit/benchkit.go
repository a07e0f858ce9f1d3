// Package benchkit holds what the benchmark commands share: running the
// osprey binary, reading CPU times from /proc, and small statistics.
package benchkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// Run runs a command with its output on stderr; failure is fatal.
func Run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %v: %v", name, args, err)
	}
}

// Server is a running `osprey serve`.
type Server struct {
	Cmd     *exec.Cmd
	Base    string // http://127.0.0.1:port
	RTMP    string // bound RTMP address, "" when disabled
	DataDir string
	done    chan struct{}
}

// StartServer runs `osprey serve` on dataDir with HTTP on a free loopback
// port, JSON logs and the admin token, plus extra arguments, and waits
// until it serves. ERROR log lines are passed on to the log.
func StartServer(bin, dataDir, token string, extra ...string) *Server {
	return StartServerLogs(bin, dataDir, token, nil, extra...)
}

// StartServerLogs is StartServer that also hands every JSON log record
// of the server to onLog (from one goroutine, in order), when not nil.
func StartServerLogs(bin, dataDir, token string, onLog func(rec map[string]any), extra ...string) *Server {
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0", "--log-format", "json"}, extra...)
	s := &Server{Cmd: exec.Command(bin, args...), done: make(chan struct{}), DataDir: dataDir}
	s.Cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+token)
	out, _ := s.Cmd.StderrPipe()
	if err := s.Cmd.Start(); err != nil {
		log.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if rec["msg"] == "osprey is serving" {
				ready <- rec
			}
			if rec["level"] == "ERROR" {
				log.Printf("osprey: %s", sc.Text())
			}
			if onLog != nil {
				onLog(rec)
			}
		}
		_ = s.Cmd.Wait()
	}()
	select {
	case rec := <-ready:
		s.Base = "http://" + rec["http"].(string)
		s.RTMP, _ = rec["rtmp"].(string)
	case <-s.done:
		log.Fatal("osprey exited at start")
	case <-time.After(20 * time.Second):
		log.Fatal("osprey did not start")
	}
	return s
}

// Stop interrupts the server and waits for it to exit.
func (s *Server) Stop() {
	_ = s.Cmd.Process.Signal(os.Interrupt)
	<-s.done
}

// ProcStat returns the fields of /proc/PID/stat after the command name
// (field 3 of proc(5) first), or nil when the process is gone.
func ProcStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')') // the command name is in parentheses
	if i < 0 || i+2 > len(b) {
		return nil
	}
	return strings.Fields(string(b[i+2:]))
}

// statTimes reads the user+system times of a process and of its waited-for
// children from ProcStat's fields.
func statTimes(f []string) (self, children time.Duration) {
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(i int) time.Duration { // field numbers from proc(5), minus 3
		v, _ := strconv.ParseInt(f[i-3], 10, 64)
		return time.Duration(v) * time.Second / 100 // USER_HZ
	}
	return tick(14) + tick(15), tick(16) + tick(17)
}

// ProcTimes reads a process's CPU time: its own, and that of its
// waited-for children. The process must exist.
func ProcTimes(pid int) (self, children time.Duration) {
	f := ProcStat(pid)
	if f == nil {
		log.Fatalf("process %d is gone", pid)
	}
	return statTimes(f)
}

// SelfCPU is a process's own user + system time; 0 when it is gone.
func SelfCPU(pid int) time.Duration {
	self, _ := statTimes(ProcStat(pid))
	return self
}

// Median of v (the mean of the middle two for an even count).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// VarStreamMap is ffmpeg's HLS -var_stream_map for a plan: every video
// rendition in the audio group "aud", then the audio, so that ffmpeg's
// output has the same shape as Osprey's (one audio rendition).
func VarStreamMap(plan transcode.Plan) string {
	var vsm string
	nv := 0
	for _, r := range plan.Renditions {
		if r.Track.Kind == media.Video {
			vsm += fmt.Sprintf("v:%d,agroup:aud,name:%s ", nv, r.Name)
			nv++
		}
	}
	return vsm + "a:0,agroup:aud,name:audio"
}

// GetText fetches a URL's body as text; code 0 when the request failed.
func GetText(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Attr returns the quoted attribute name="value" of a playlist tag line
// ("" when absent).
func Attr(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}
