package benchkit

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes the CPU, memory and kernel, e.g.
// "2 × AMD EPYC 7B13, 8 GiB, Linux 6.1.0".
func Machine() string {
	model, mem := "unknown CPU", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
				break
			}
		}
		f.Close()
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d × %s%s, Linux %s", runtime.NumCPU(), model, mem, strings.TrimSpace(string(kernel)))
}

// ToolVersion is the first line a tool prints about its version, without
// nginx's "nginx version: " or wrk's build details ("wrk 4.1.0").
func ToolVersion(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput() // wrk -v exits 1
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line = strings.TrimPrefix(line, "nginx version: ")
	if i := strings.Index(line, " ["); i > 0 { // wrk's build details
		line = line[:i]
	}
	return line
}

// MachineBusy is the CPU time all processors have spent busy (not idle,
// not waiting for I/O) since boot, from /proc/stat; 0 when unreadable.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 2 {
		return 0
	}
	var busy int64
	for i, s := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are in user already
			continue
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// EnsureTools installs the missing ones of the Debian packages named
// after the commands in tools (wrk, nginx) with apt-get, as root, without
// letting a package start its system service; it runs apt-get update and
// retries once when the install fails. Not root: an error with the
// command to run.
func EnsureTools(tools ...string) error {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s missing: run `sudo apt-get install -y %s`", strings.Join(missing, " and "), strings.Join(missing, " "))
	}
	// policy-rc.d exiting 101 keeps invoke-rc.d from starting a service.
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		log.Printf("writing %s (exit 101) so that apt-get starts no service; removed after", policy)
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", policy, err)
		}
		defer os.Remove(policy)
	}
	args := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
	log.Printf("installing: apt-get %s", strings.Join(args, " "))
	if err := aptGet(args...); err != nil {
		log.Print("apt-get install failed; running apt-get update and retrying")
		if err := aptGet("update"); err != nil {
			return err
		}
		return aptGet(args...)
	}
	return nil
}

func aptGet(args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// ReportHead starts a tool's Markdown report: a heading with the tool's
// name and the time, then the machine (Machine) and the versions of what
// ran, Go's last.
func ReportHead(w io.Writer, tool string, versions ...string) {
	fmt.Fprintf(w, "\n## %s, %s\n\n", tool, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Machine: %s. %s.\n\n", Machine(), strings.Join(append(versions, runtime.Version()), ", "))
}
