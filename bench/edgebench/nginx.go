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
