package main

import (
	_ "embed"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

//go:embed nginx.conf.tmpl
var nginxConfTemplate string

var nginxConf = template.Must(template.New("nginx.conf").Parse(nginxConfTemplate))

// nginxConfig fills nginx.conf.tmpl.
type nginxConfig struct {
	Root      bool   // running as root: workers run as root too (temp folders are ours)
	Workers   int    // worker_processes: the cores osprey may use (GOMAXPROCS)
	Dir       string // pid, logs, temp files and the cache
	DiskBytes int64  // proxy_cache_path max_size: osprey's disk budget
	Origin    string // host:port
	Listen    string // host:port
	Backlog   int    // listen backlog: Go's listeners use somaxconn
}

// writeNginxConf writes dir/nginx.conf and returns its text.
func writeNginxConf(cfg nginxConfig) (string, error) {
	var b strings.Builder
	if err := nginxConf.Execute(&b, cfg); err != nil {
		return "", fmt.Errorf("rendering nginx.conf: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "nginx.conf"), []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("writing nginx.conf: %w", err)
	}
	return b.String(), nil
}

// startNginx runs nginx in the foreground (daemon off) with a
// configuration and all its files in dir; it returns the server and the
// configuration's text.
func startNginx(dir, originBase string, o opts) (*server, string, error) {
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := nginxConfig{
		Root:      os.Geteuid() == 0,
		Workers:   o.cores,
		Dir:       dir,
		DiskBytes: o.diskBytes,
		Origin:    strings.TrimPrefix(originBase, "http://"),
		Listen:    addr,
		Backlog:   somaxconn(),
	}
	text, err := writeNginxConf(cfg)
	if err != nil {
		return nil, "", err
	}
	s := &server{
		Name:      nginxName,
		Base:      "http://" + addr,
		Dir:       dir,
		AccessLog: filepath.Join(dir, "access.log"),
		HitHeader: "X-Cache-Status",
	}
	s.cmd = exec.Command("nginx", nginxArgs(dir)...)
	if err := s.start(nil); err != nil {
		if b, rerr := os.ReadFile(filepath.Join(dir, "error.log")); rerr == nil {
			log.Printf("nginx error.log:\n%s", b)
		}
		return nil, "", err
	}
	return s, text, nil
}

// nginxArgs is nginx's command line: prefix, configuration and error log
// in dir, in the foreground.
func nginxArgs(dir string) []string {
	return []string{"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}
}

// somaxconn is the kernel's listen backlog limit (Go listens with it).
func somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 511
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 511
	}
	return n
}

// ensureTools installs nginx and wrk with apt-get when they are missing,
// without letting the package start the system nginx service.
func ensureTools() error {
	var missing []string
	for _, t := range []string{"nginx", "wrk"} {
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
	// policy-rc.d exiting 101 keeps invoke-rc.d from starting the service.
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		log.Printf("writing %s (exit 101) so that apt-get does not start the nginx service; removed after", policy)
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
		if err := aptGet(args...); err != nil {
			return err
		}
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
