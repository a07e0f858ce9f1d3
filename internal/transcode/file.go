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
	"sync"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
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
	Log      *slog.Logger // default: discard
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
	cmd := exec.Command(job.FFmpeg, job.Plan.FileArgs(job.Input, job.Segment)...)
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
	r := &tsReader{plan: job.Plan, out: ctxOutput{ctx, job.Output}, rebase: true}
	readErr := r.run(bufio.NewReaderSize(outR, 256*1024))
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
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, tail.String())
	case readErr != nil:
		return readErr
	case waitErr != nil:
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, tail.String())
	case !r.started:
		return fmt.Errorf("ffmpeg produced no complete output: %s", tail.String())
	}
	log.Info("file transcoded", "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// ctxOutput stops delivering units once ctx is done, so that a cancelled
// run does not go on with what the pipe still holds.
type ctxOutput struct {
	ctx context.Context
	Output
}

func (o ctxOutput) WriteUnit(i int, u *media.Unit) error {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	return o.Output.WriteUnit(i, u)
}

// logStderr logs ffmpeg's first lines and keeps the last ones in tail.
func logStderr(r io.Reader, tail *tailBuffer, log *slog.Logger) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		line := sc.Text()
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
func setPipeSize(f *os.File) {
	const fSetPipeSz = 1031 // F_SETPIPE_SZ
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, pipeSize)
}
