package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// encoding is one x264 configuration of the quality comparison.
type encoding struct {
	name string
	x264 []string // extra ffmpeg options for the encoder
}

// qualityResult is one encode of the clip.
type qualityResult struct {
	kbps       float64
	psnr, ssim float64
	cpu        time.Duration // encoder user+system per second of media
}

// encodeClip encodes seconds of the 720p test pattern (generated again, so
// the reference is lossless) with the 720p rung's x264 settings plus x,
// keyframes every gop, either at kbps with the rung's VBV (crf 0) or at
// constant quality crf, and measures the output bitrate and its PSNR and
// SSIM against the pattern.
func encodeClip(ffmpeg, dir string, seconds int, x []string, gop time.Duration, crf, kbps int) (qualityResult, error) {
	const pattern = "testsrc2=size=1280x720:rate=30"
	out := filepath.Join(dir, "clip.ts")
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", pattern, "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-force_key_frames", fmt.Sprintf("expr:gte(t,n_forced*%g)", gop.Seconds()),
		"-g", "100000", "-keyint_min", "100000", "-sc_threshold", "0", "-flags", "+cgop"}
	if crf > 0 {
		args = append(args, "-crf", strconv.Itoa(crf))
	} else {
		args = append(args, "-b:v", fmt.Sprintf("%dk", kbps), "-maxrate", fmt.Sprintf("%dk", kbps*11/10), "-bufsize", fmt.Sprintf("%dk", kbps*22/10))
	}
	args = append(args, x...)
	args = append(args, "-f", "mpegts", out)
	cmd := exec.Command(ffmpeg, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return qualityResult{}, fmt.Errorf("encoding: %v: %s", err, b)
	}
	var r qualityResult
	r.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()) / time.Duration(seconds)
	fi, err := os.Stat(out)
	if err != nil {
		return r, err
	}
	// MPEG-TS overhead (~4%) is the same for every configuration.
	r.kbps = float64(fi.Size()) * 8 / 1000 / float64(seconds)
	b, err := exec.Command(ffmpeg, "-hide_banner", "-nostats", "-i", out,
		"-f", "lavfi", "-i", pattern+":duration="+strconv.Itoa(seconds),
		"-filter_complex", "[0:v]setpts=PTS-STARTPTS,split[a1][a2];[1:v]setpts=PTS-STARTPTS,split[b1][b2];[a1][b1]psnr[p];[a2][b2]ssim[s]",
		"-map", "[p]", "-map", "[s]", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("measuring: %v: %s", err, b)
	}
	if m := regexp.MustCompile(`PSNR .*average:([0-9.]+)`).FindSubmatch(b); m != nil {
		r.psnr, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := regexp.MustCompile(`SSIM .*All:([0-9.]+)`).FindSubmatch(b); m != nil {
		r.ssim, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if r.psnr == 0 || r.ssim == 0 {
		return r, fmt.Errorf("no PSNR/SSIM in: %s", lastLines(string(b), 5))
	}
	return r, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// quality prints the cost of each encoding: at the rung's bitrate, the
// quality lost; at constant quality, the bitrate spent; and the encoder's
// CPU. Then the same for a 1 s against a 2 s keyframe interval.
func quality(ffmpeg, dir string, seconds int, encs []encoding, gopEncs []encoding) error {
	fmt.Printf("\n### Quality cost (720p rung, %d s of testsrc2, x264 veryfast)\n\n", seconds)
	fmt.Println("| encoder settings | PSNR at 2.8 Mb/s (dB) | SSIM at 2.8 Mb/s | bitrate for the first row's PSNR | bitrate at CRF 23 (kb/s) | SSIM at CRF 23 | encoder CPU (ms per s of media) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var ref float64
	for i, e := range encs {
		abr, err := encodeClip(ffmpeg, dir, seconds, e.x264, 2*time.Second, 0, 2800)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if i == 0 {
			ref = abr.psnr
		}
		same, err := equalPSNR(ffmpeg, dir, seconds, e.x264, abr.psnr, ref)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		crf, err := encodeClip(ffmpeg, dir, seconds, e.x264, 2*time.Second, 23, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		fmt.Printf("| %s | %.2f | %.4f | %s | %.0f | %.4f | %d |\n", e.name, abr.psnr, abr.ssim, same, crf.kbps, crf.ssim, crf.cpu.Milliseconds())
	}
	fmt.Printf("\n### Keyframe interval cost (720p rung, %d s of testsrc2)\n\n", seconds)
	fmt.Println("| encoder settings | GOP | PSNR at 2.8 Mb/s (dB) | bitrate at CRF 23 (kb/s) | SSIM at CRF 23 |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for _, e := range gopEncs {
		for _, gop := range []time.Duration{time.Second, 2 * time.Second} {
			abr, err := encodeClip(ffmpeg, dir, seconds, e.x264, gop, 0, 2800)
			if err != nil {
				return err
			}
			crf, err := encodeClip(ffmpeg, dir, seconds, e.x264, gop, 23, 0)
			if err != nil {
				return err
			}
			fmt.Printf("| %s | %v | %.2f | %.0f | %.4f |\n", e.name, gop, abr.psnr, crf.kbps, crf.ssim)
		}
	}
	return nil
}

// equalPSNR finds, by steps of 5 % from 2.8 Mb/s, the bitrate at which the
// encoding x reaches the PSNR ref (psnr is its PSNR at 2.8 Mb/s), linearly
// interpolated between the two steps around it, as "kb/s (+n %)".
func equalPSNR(ffmpeg, dir string, seconds int, x []string, psnr, ref float64) (string, error) {
	const base = 2800
	if psnr >= ref {
		return fmt.Sprintf("≤ %d (+0 %%)", base), nil
	}
	lo, loP := base, psnr
	for k := 1; k <= 8; k++ {
		hi := base + base*k/20
		r, err := encodeClip(ffmpeg, dir, seconds, x, 2*time.Second, 0, hi)
		if err != nil {
			return "", err
		}
		if r.psnr >= ref {
			kbps := float64(lo) + float64(hi-lo)*(ref-loP)/(r.psnr-loP)
			return fmt.Sprintf("%.0f (+%.0f %%)", kbps, 100*(kbps/base-1)), nil
		}
		lo, loP = hi, r.psnr
	}
	return fmt.Sprintf("> %d (+40 %%)", lo), nil
}
