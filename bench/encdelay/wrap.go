package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// envEdits names the environment variable that switches this binary into
// its ffmpeg-wrapper role: the Supervisor is given this binary as its
// FFmpegPath, and each run's configuration travels in the variable.
const envEdits = "ENCDELAY_EDITS"

// edits change the command line the transcoder builds, so that a
// configuration can be measured on the real Supervisor without a knob in
// the product for it. Options are given without their stream specifier.
type edits struct {
	Del []string `json:"del,omitempty"` // options removed, with their value, whatever their stream specifier
	In  []string `json:"in,omitempty"`  // option/value pairs added before the input
	Out []string `json:"out,omitempty"` // muxer option/value pairs added before the output
	V   []string `json:"v,omitempty"`   // option/value pairs added to every libx264 output, as -opt:v:N
}

// wrapped is the wrapper role: exec ffmpeg with the edited command line,
// keeping this process (its PID, its rusage) for it.
func wrapped(spec string) {
	var e edits
	if err := json.Unmarshal([]byte(spec), &e); err != nil {
		fmt.Fprintf(os.Stderr, "encdelay wrapper: %v\n", err)
		os.Exit(2)
	}
	bin, err := exec.LookPath(os.Getenv("ENCDELAY_FFMPEG"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "encdelay wrapper: %v\n", err)
		os.Exit(2)
	}
	args := append([]string{"ffmpeg"}, e.apply(os.Args[1:])...)
	if os.Getenv("ENCDELAY_PRINT") != "" {
		fmt.Fprintln(os.Stderr, strings.Join(args, " "))
	}
	err = syscall.Exec(bin, args, os.Environ())
	fmt.Fprintf(os.Stderr, "encdelay wrapper: exec %s: %v\n", bin, err)
	os.Exit(2)
}

// apply returns args with the edits made.
func (e edits) apply(args []string) []string {
	var a []string
	for i := 0; i < len(args); i++ {
		if deleted(e.Del, args[i]) && i+1 < len(args) {
			i++
			continue
		}
		a = append(a, args[i])
		if strings.HasPrefix(args[i], "-c:v:") && i+1 < len(args) && args[i+1] == "libx264" {
			n := strings.TrimPrefix(args[i], "-c:v:")
			a = append(a, args[i+1])
			i++
			for j := 0; j+1 < len(e.V); j += 2 {
				a = append(a, e.V[j]+":v:"+n, e.V[j+1])
			}
		}
	}
	// The input is "-f mpegts -i pipe:0", the output "-f mpegts pipe:1".
	for i := range a {
		if a[i] == "-i" && i >= 2 {
			a = insert(a, i-2, e.In)
			break
		}
	}
	if n := len(a); n >= 3 && a[n-1] == "pipe:1" {
		a = insert(a, n-3, e.Out)
	}
	return a
}

func deleted(del []string, arg string) bool {
	for _, d := range del {
		if arg == d || strings.HasPrefix(arg, d+":") {
			return true
		}
	}
	return false
}

func insert(a []string, at int, s []string) []string {
	out := append([]string{}, a[:at]...)
	out = append(out, s...)
	return append(out, a[at:]...)
}
