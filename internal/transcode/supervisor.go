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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/pollio"
)

// Config tunes a Supervisor.
type Config struct {
	FFmpegPath      string        // default "ffmpeg"
	SegmentDuration time.Duration // the segment grid; default 2s
	// KeyframeInterval puts keyframes of the encoded rungs this far apart
	// on the segment grid (it must divide SegmentDuration): a shorter
	// interval lets low-latency players join at more parts. 0: one per
	// segment.
	KeyframeInterval time.Duration
	QueueUnits       int // input units buffered for ffmpeg; default 4096 (about 30 s)
	// QueueBytes bounds the bytes of the units buffered for ffmpeg; default
	// 64 MiB (over 50 s of a 10 Mb/s publisher). Units past either bound are
	// dropped up to the next keyframe.
	QueueBytes int64
	// BehindAfter is how far output may trail input before the transcoder
	// counts as behind real time; default max(3 s, 2 segments).
	BehindAfter time.Duration
	// StallTimeout: ffmpeg that has produced nothing for this long while
	// input keeps coming is hung; it is killed and restarted. Default 20 s.
	StallTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.FFmpegPath == "" {
		c.FFmpegPath = "ffmpeg"
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = 2 * time.Second
	}
	if c.QueueUnits == 0 {
		c.QueueUnits = 4096
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 64 << 20
	}
	if c.BehindAfter == 0 {
		c.BehindAfter = max(3*time.Second, 2*c.SegmentDuration)
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 20 * time.Second
	}
}

// keyframeGrid is the spacing of the encoded rungs' keyframes: the
// keyframe interval when it divides the segment duration, else the
// segment duration.
func (c *Config) keyframeGrid() time.Duration {
	if k := c.KeyframeInterval; k > 0 && k < c.SegmentDuration && c.SegmentDuration%k == 0 {
		return k
	}
	return c.SegmentDuration
}

// Status is a snapshot of a Supervisor.
type Status struct {
	Running  bool
	PID      int
	Restarts int
	Speed    float64
	Lag      time.Duration
	Behind   bool
	Dropped  int64
	Queued   int64 // bytes of input waiting for ffmpeg
}

// ErrClosed is returned by WriteUnit once the input has ended.
var ErrClosed = errors.New("transcoder input closed")

// Supervisor runs ffmpeg for one live channel, restarting it if it dies
// while the publisher is still there.
type Supervisor struct {
	cfg   Config
	plan  Plan
	input []*media.Track
	out   Output
	log   *slog.Logger

	q         *unitQueue
	inputDone chan struct{} // closed when the publisher has left
	closeOnce sync.Once
	kill      chan struct{} // closed to stop ffmpeg at once
	killOnce  sync.Once
	done      chan struct{} // closed when the run loop has returned

	needKey atomic.Bool // drop video until a keyframe (after a drop)
	dropped atomic.Int64
	lastIn  atomic.Int64 // DTS of the newest input unit, ns
	lastOut atomic.Int64 // DTS of the newest output unit, ns

	mu       sync.Mutex
	next     *Plan         // Replan's plan, for the next run
	runStop  chan struct{} // closed by Replan to end the current run
	running  bool
	pid      int
	restarts int
	speed    float64
	behind   bool
	err      error
}

type queued struct {
	track int
	unit  *media.Unit
	size  int64
}

// unitSize is what a unit weighs in the queue.
func unitSize(u *media.Unit) int64 {
	n := int64(len(u.Data))
	for _, nalu := range u.NALUs {
		n += int64(len(nalu))
	}
	return n
}

// Start launches ffmpeg for plan and returns at once. input are the
// publisher's tracks; out receives the renditions.
func Start(cfg Config, plan Plan, input []*media.Track, out Output, log *slog.Logger) *Supervisor {
	cfg.setDefaults()
	s := &Supervisor{
		cfg:       cfg,
		plan:      plan,
		input:     input,
		out:       out,
		log:       log,
		q:         newUnitQueue(cfg.QueueUnits, cfg.QueueBytes, isVideo(input)),
		inputDone: make(chan struct{}),
		kill:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.needKey.Store(true)
	go s.loop()
	return s
}

// WriteUnit queues an input unit for ffmpeg without blocking. When ffmpeg
// cannot keep up and the queue is full the unit is dropped and counted, and
// video is dropped up to the next keyframe so ffmpeg never sees a broken GOP.
func (s *Supervisor) WriteUnit(track int, u *media.Unit) error {
	select {
	case <-s.inputDone:
		return ErrClosed
	default:
	}
	s.lastIn.Store(int64(u.DTS))
	if s.input[track].Kind == media.Video && s.needKey.Load() {
		if !u.Key {
			s.dropped.Add(1)
			return nil
		}
		s.needKey.Store(false)
	}
	if s.q.push(queued{track, u, unitSize(u)}) {
		return nil
	}
	if s.dropped.Add(1) == 1 || !s.needKey.Load() {
		s.log.Warn("transcoder queue full: dropping input until the next keyframe", "dropped", s.dropped.Load(), "queued_bytes", s.q.queuedBytes())
	}
	s.needKey.Store(true)
	return nil
}

// Replan restarts the transcoder with plan at once (a degraded ladder, say).
// The input ffmpeg has not taken yet is dropped, so the new run starts at
// the next keyframe the publisher sends: the output skips to live, and the
// Output sees a new Begin, as after any restart. Replan after Close does
// nothing.
func (s *Supervisor) Replan(plan Plan) {
	s.mu.Lock()
	s.next = &plan
	stop := s.runStop
	s.runStop = nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
	}
}

// Close ends the input: ffmpeg finishes what it has and exits. Close waits
// for that until ctx is done, then kills ffmpeg. It is idempotent.
func (s *Supervisor) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.inputDone) })
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Kill()
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Kill stops ffmpeg at once and does not restart it.
func (s *Supervisor) Kill() {
	s.closeOnce.Do(func() { close(s.inputDone) })
	s.killOnce.Do(func() { close(s.kill) })
}

// Done is closed once the Supervisor has stopped for good: its last ffmpeg
// has exited and been reaped, and none will start again.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Status reports the transcoder's state.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	lag := max(time.Duration(s.lastIn.Load()-s.lastOut.Load()), 0)
	return Status{
		Running:  s.running,
		PID:      s.pid,
		Restarts: s.restarts,
		Speed:    s.speed,
		Lag:      lag,
		Behind:   s.behind,
		Dropped:  s.dropped.Load(),
		Queued:   s.q.queuedBytes(),
	}
}

func (s *Supervisor) ended() bool {
	select {
	case <-s.inputDone:
		return true
	default:
		return false
	}
}

func (s *Supervisor) loop() {
	defer close(s.done)
	backoff := 500 * time.Millisecond
	for {
		s.applyReplan()
		started := time.Now()
		err := s.runOnce()
		if s.ended() {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		replanned := s.next != nil
		if !replanned {
			s.restarts++
		}
		s.mu.Unlock()
		if replanned {
			s.log.Info("transcoder stopped for a new ladder", "err", err)
			continue
		}
		if time.Since(started) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		s.log.Error("transcoder stopped while the publisher is live; restarting", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.kill:
			return
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// applyReplan switches to the plan Replan gave, if any, dropping the queued
// input: the next run starts from live input. Output is counted as caught
// up to the input dropped, so lag measures the new run only.
func (s *Supervisor) applyReplan() {
	s.mu.Lock()
	next := s.next
	s.next = nil
	s.mu.Unlock()
	if next == nil {
		return
	}
	s.plan = *next
	n := s.q.drop()
	s.dropped.Add(int64(n))
	s.lastOut.Store(s.lastIn.Load())
	s.log.Info("transcoder restarting with a new ladder", "renditions", s.plan.names(), "dropped_backlog", n)
}

// runOnce runs one ffmpeg process until it exits.
func (s *Supervisor) runOnce() error {
	args := s.plan.FFmpegArgs(s.input, s.cfg.keyframeGrid())
	cmd := exec.Command(s.cfg.FFmpegPath, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if f, ok := stdout.(*os.File); ok {
		setPipeSize(f)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	progR, progW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.ExtraFiles = []*os.File{progW} // fd 3
	if err := cmd.Start(); err != nil {
		progR.Close()
		progW.Close()
		return fmt.Errorf("starting %s: %w", s.cfg.FFmpegPath, err)
	}
	progW.Close()
	s.log.Info("transcoder started", "pid", cmd.Process.Pid, "renditions", s.plan.names())
	stop := make(chan struct{})
	s.mu.Lock()
	s.running, s.pid = true, cmd.Process.Pid
	if s.next != nil {
		close(stop) // replanned while starting
	} else {
		s.runStop = stop
	}
	s.mu.Unlock()

	exited := make(chan struct{})  // closed once ffmpeg has been reaped
	outDone := make(chan struct{}) // closed when ffmpeg's stdout has ended
	var wg sync.WaitGroup
	var feedErr, readErr error
	lastLines := &tailBuffer{max: 8}

	wg.Add(4)
	go func() { defer wg.Done(); feedErr = s.feed(stdin, outDone) }()
	go func() {
		defer wg.Done()
		defer close(outDone)
		r := &tsReader{plan: s.plan, out: s.out, onTime: func(d time.Duration) { s.lastOut.Store(int64(d)) }}
		// The demuxer reads 188-byte packets: buffer the pipe.
		readErr = r.run(bufio.NewReaderSize(pollio.ReaderFor(stdout), 64*1024))
		if readErr != nil {
			_ = cmd.Process.Kill()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer wg.Done()
		defer progR.Close()
		readProgress(progR, s.onProgress)
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			lastLines.add(line)
			s.log.Warn("ffmpeg: " + line)
		}
	}()
	go func() {
		select {
		case <-s.kill:
			_ = cmd.Process.Kill()
		case <-stop:
			_ = cmd.Process.Kill()
		case <-exited:
		}
	}()
	go s.watchStall(cmd.Process, exited)

	// Pipes must be drained before Wait closes them.
	wg.Wait()
	waitErr := cmd.Wait()
	close(exited)

	s.mu.Lock()
	s.running, s.pid = false, 0
	if s.runStop == stop {
		s.runStop = nil
	}
	s.mu.Unlock()

	switch {
	case readErr != nil:
		return readErr
	case waitErr != nil:
		return fmt.Errorf("ffmpeg: %w: %s", waitErr, lastLines.String())
	case feedErr != nil && !s.ended():
		return feedErr
	case !s.ended():
		return errors.New("ffmpeg exited while input continues")
	}
	return nil
}

// audioFlushSpan bounds the audio that may wait in the buffer to ffmpeg's
// stdin for a video unit to share a write with, in media time. See feed.
const audioFlushSpan = 40 * time.Millisecond

// feed writes queued units to ffmpeg's stdin until the input ends (then it
// closes stdin so ffmpeg finishes) or ffmpeg goes away.
//
// The queue wakes feed when a video unit arrives (or, without a video
// track, any unit): feed then writes everything waiting in one write, so
// ffmpeg gets every frame as soon as Osprey has it. Audio waits for the
// next video unit, or until the audio waiting spans audioFlushSpan (a video
// frame interval at 25 fps or more), which halves the writes to the pipe,
// ffmpeg's wake-ups and feed's own, without delaying the output: audio
// still leaves the transcoder ahead of the video it plays with (median
// 68 ms against 131 ms for the 720p rung in bench/encdelay). No timer is
// involved (timers cost more than the writes they save).
func (s *Supervisor) feed(stdin io.WriteCloser, outDone <-chan struct{}) error {
	defer stdin.Close()
	tw, err := newTSWriter(pollio.WriterFor(stdin), s.input)
	if err != nil {
		return err
	}
	// Every run starts at a video keyframe.
	waitKey := firstOfKind(s.input, media.Video) >= 0
	var batch []queued
	write := func() error {
		batch = s.q.take(batch)
		// Each unit's bytes are released once it is written, so what
		// this batch holds counts against the queue's bound meanwhile;
		// on an error the rest is released at once.
		var held int64
		for _, q := range batch {
			held += q.size
		}
		defer func() { s.q.release(held) }()
		for _, q := range batch {
			if waitKey {
				if s.input[q.track].Kind != media.Video || !q.unit.Key {
					held -= q.size
					s.q.release(q.size)
					continue
				}
				waitKey = false
			}
			if err := tw.write(q.track, q.unit); err != nil {
				return fmt.Errorf("writing to ffmpeg: %w", err)
			}
			held -= q.size
			s.q.release(q.size)
		}
		if err := tw.flush(); err != nil {
			return fmt.Errorf("writing to ffmpeg: %w", err)
		}
		return nil
	}
	for {
		select {
		case <-s.q.ready:
			if err := write(); err != nil {
				return err
			}
		case <-s.inputDone:
			// Write what is left, then end ffmpeg's input.
			return write()
		case <-outDone:
			return nil
		case <-s.kill:
			return nil
		}
	}
}

// watchStall kills a hung ffmpeg: one that has produced no output for
// StallTimeout while the input went on. The run loop then restarts it.
func (s *Supervisor) watchStall(p *os.Process, exited <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastOut, lastIn, since := s.lastOut.Load(), s.lastIn.Load(), time.Now()
	for {
		select {
		case <-exited:
			return
		case <-tick.C:
		}
		out, in := s.lastOut.Load(), s.lastIn.Load()
		switch {
		case out != lastOut || in == lastIn:
			// Output moves, or no input either (a quiet publisher): not hung.
			lastOut, lastIn, since = out, in, time.Now()
		case time.Since(since) > s.cfg.StallTimeout:
			s.log.Error("transcoder produced nothing while input went on; killing it", "for", time.Since(since).Round(time.Second))
			_ = p.Kill()
			return
		}
	}
}

func (s *Supervisor) onProgress(p progress) {
	lag := time.Duration(s.lastIn.Load() - s.lastOut.Load())
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Speed > 0 {
		s.speed = p.Speed
	}
	switch {
	case !s.behind && lag > s.cfg.BehindAfter:
		s.behind = true
		s.log.Warn("transcoder is falling behind real time", "lag", lag.Round(time.Millisecond), "speed", p.Speed)
	case s.behind && lag < s.cfg.BehindAfter/2:
		s.behind = false
		s.log.Info("transcoder caught up with real time", "lag", lag.Round(time.Millisecond), "speed", p.Speed)
	}
}

func (p Plan) names() string {
	n := make([]string, len(p.Renditions))
	for i, r := range p.Renditions {
		n[i] = r.Name
	}
	return strings.Join(n, ",")
}

// tailBuffer keeps the last lines ffmpeg printed, for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, l)
	if len(t.lines) > t.max {
		t.lines = t.lines[1:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, " | ")
}
