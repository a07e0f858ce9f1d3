package transcode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/pollio"
	"github.com/ospreyvideo/osprey/internal/probe"
)

// FileJob is one transcode of a local file (VoD).
type FileJob struct {
	FFmpeg  string        // ffmpeg binary; default "ffmpeg"
	Input   string        // local file path
	Plan    Plan          // from NewFilePlan
	Segment time.Duration // keyframe grid: a keyframe every Segment of output time, from 0, in every rung; default 2 s
	// Output gets Begin once, with the renditions' complete codec
	// parameters, then every unit, interleaved roughly by DTS, from the
	// goroutine that called RunFile. Timestamps start at 0: the first
	// video keyframe (or, without video, the first audio frame) has PTS 0.
	Output Output
	// Progress, if set, is told the output media time reached, about
	// twice a second, from another goroutine; never after RunFile returns.
	Progress func(done time.Duration)
	// Expected is the duration the source declares (its probe); when set,
	// a run that decodes clearly less (see shortBy) fails with a
	// *probe.Error: the file is cut short, however cleanly ffmpeg ended.
	Expected time.Duration
	// Extra, if set, adds outputs made from the decoded video (the
	// thumbnails), written by the same ffmpeg; ignored without video.
	Extra ExtraOutputs
	Log   *slog.Logger // default: discard
}

// A run is cut short when it decodes less than minDecoded of Expected and
// at least shortSlack less: containers and encoders disagree by a frame or
// an audio priming delay, never by a tenth.
const (
	minDecoded = 0.9
	shortSlack = 2 * time.Second
)

// shortBy reports whether decoded falls clearly short of expected.
func shortBy(decoded, expected time.Duration) bool {
	return expected > 0 && float64(decoded) < minDecoded*float64(expected) && expected-decoded >= shortSlack
}

// truncatedError is the failure of a source that declares more than could
// be decoded from it.
func truncatedError(decoded, expected time.Duration) error {
	return &probe.Error{Reason: fmt.Sprintf("the file is cut short: it says it lasts %s, but only the first %s of it "+
		"could be read; it was probably not uploaded or copied completely, so send the whole file again",
		formatSeconds(expected), formatSeconds(decoded))}
}

// formatSeconds writes a duration for people: "12.0 s", "3 min 04 s".
func formatSeconds(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	s := int(d.Round(time.Second).Seconds())
	if s < 3600 {
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min %02d s", s/3600, s/60%60, s%60)
}

// stderrLogLines bounds how many of ffmpeg's lines a file run logs; the
// last ones are kept for the error in any case.
const stderrLogLines = 20

// pipeSize is asked for ffmpeg's stdout pipe (Linux caps it at
// /proc/sys/fs/pipe-max-size, 1 MiB by default): fewer wake-ups per byte.
const pipeSize = 1 << 20

// RunFile runs one ffmpeg over the file into job.Output and returns when
// ffmpeg has exited and every unit has been delivered. Cancelling ctx kills
// ffmpeg; RunFile then returns ctx's error. A non-zero exit returns an error
// with the last lines ffmpeg printed; an Output error stops ffmpeg and is
// returned as is. There are no restarts: the job queue retries.
func RunFile(ctx context.Context, job FileJob) error {
	if job.FFmpeg == "" {
		job.FFmpeg = "ffmpeg"
	}
	log := job.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(job.Plan.Renditions) == 0 {
		return errors.New("transcoding a file: the plan has no rendition")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.Command(job.FFmpeg, job.Plan.fileArgs(job.Input, job.Segment, job.Extra)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer outR.Close()
	setPipeSize(outR)
	progR, progW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		outW.Close()
		progR.Close()
		progW.Close()
		return err
	}
	cmd.Stdout = outW
	cmd.ExtraFiles = []*os.File{progW} // fd 3
	err = cmd.Start()
	outW.Close()
	progW.Close()
	if err != nil {
		progR.Close()
		return fmt.Errorf("starting %s: %w", job.FFmpeg, err)
	}
	log.Info("transcoding file", "pid", cmd.Process.Pid, "renditions", job.Plan.names())
	started := time.Now()

	var wg sync.WaitGroup
	tail := &tailBuffer{max: 10}
	wg.Add(2)
	go func() {
		defer wg.Done()
		logStderr(stderr, tail, log)
	}()
	go func() {
		defer wg.Done()
		defer progR.Close()
		readProgress(progR, func(p progress) {
			if job.Progress != nil && p.OutTime > 0 {
				job.Progress(p.OutTime)
			}
		})
	}()
	exited := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-exited:
		}
	}()

	// Units go to Output from this goroutine, straight off the pipe.
	out := &ctxOutput{ctx: ctx, Output: job.Output}
	r := &tsReader{plan: job.Plan, out: out, rebase: true}
	readErr := r.run(bufio.NewReaderSize(pollio.ReaderFor(outR), 256*1024))
	if readErr != nil {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, outR)
	wg.Wait() // stderr and progress end when ffmpeg exits
	waitErr := cmd.Wait()
	close(exited)
	<-watchDone

	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case waitErr != nil && cmd.ProcessState.Exited():
		// ffmpeg failed on its own: its messages say why (whatever the
		// reader made of its truncated output).
		if reason := probe.RefusedInput(tail.String()); reason != "" {
			return &probe.Error{Reason: reason, Err: fmt.Errorf("ffmpeg: %w: %s", waitErr, tail.String())}
		}
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, tail.String())
	case readErr != nil:
		return readErr
	case waitErr != nil:
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, tail.String())
	case !r.started:
		return fmt.Errorf("ffmpeg produced no complete output: %s", tail.String())
	case shortBy(out.last, job.Expected):
		// The renditions' own timestamps: ffmpeg's progress counts every
		// output, and the thumbnails' is padded to the declared duration.
		log.Warn("the source is shorter than it declares", "declared", job.Expected, "decoded", out.last)
		return truncatedError(out.last, job.Expected)
	}
	log.Info("file transcoded", "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// ctxOutput stops delivering units once ctx is done, so that a cancelled
// run does not go on with what the pipe still holds, and keeps the latest
// presentation time delivered.
type ctxOutput struct {
	ctx context.Context
	Output
	last time.Duration // the largest PTS delivered; the reader's goroutine only
}

func (o *ctxOutput) WriteUnit(i int, u *media.Unit) error {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	o.last = max(o.last, u.PTS)
	return o.Output.WriteUnit(i, u)
}

// logStderr logs ffmpeg's first lines and keeps the last ones in tail.
func logStderr(r io.Reader, tail *tailBuffer, log *slog.Logger) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "deprecated pixel format used") {
			continue // swscale's note on the JPEG thumbnails' full-range format
		}
		tail.add(line)
		n++
		if n <= stderrLogLines {
			log.Warn("ffmpeg: " + line)
		}
	}
	if n > stderrLogLines {
		log.Warn("ffmpeg printed more lines than were logged", "lines", n)
	}
	_, _ = io.Copy(io.Discard, r)
}

// setPipeSize enlarges a pipe's kernel buffer where the system allows it.
//
// It reaches the descriptor through SyscallConn, not Fd: Fd puts the file
// in blocking mode, and every read of the pipe then holds an OS thread in
// a blocking system call until ffmpeg writes again. The runtime's sysmon
// notices each such call, hands the P to another thread and wakes it,
// hundreds of times a second for the whole transcode (the Go process took
// 0.6-0.7 s of CPU per 20 s VoD job with it, 0.4-0.5 s without, measured
// with bench/vodbench). Left non-blocking, the reader parks in the
// network poller like any other goroutine.
func setPipeSize(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		const fSetPipeSz = 1031 // F_SETPIPE_SZ
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, pipeSize)
	})
}
