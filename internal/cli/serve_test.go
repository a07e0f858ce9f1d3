package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
)

// servedConfig runs `osprey serve args...` with a Serve that records its
// config, and fails the test unless it exits 0.
func servedConfig(t *testing.T, args ...string) config.Config {
	t.Helper()
	var cfg config.Config
	r := run(captureServe(&cfg), append([]string{"serve"}, args...)...)
	if r.code != 0 {
		t.Fatalf("serve %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return cfg
}

// clearEnv unsets every variable serve reads, for the duration of the test.
func clearEnv(t *testing.T) {
	for _, name := range []string{"OSPREY_CONFIG", "OSPREY_DATA", "OSPREY_HTTP", "OSPREY_RTMP", "OSPREY_SRT",
		"OSPREY_PUBLIC_URL", "OSPREY_LOG_LEVEL", "OSPREY_LOG_FORMAT", "OSPREY_CORS_ORIGIN",
		"OSPREY_SEGMENT_DURATION", "OSPREY_WINDOW", "OSPREY_LADDER", "OSPREY_FFMPEG", "OSPREY_ADMIN_TOKEN",
		"OSPREY_TLS_CERT", "OSPREY_TLS_KEY", "OSPREY_METRICS_ADDR", "OSPREY_EDGE_METRICS_ADDR", "OSPREY_EDGE_ORIGIN"} {
		t.Setenv(name, "") // registers restoration
		os.Unsetenv(name)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeDefaults(t *testing.T) {
	clearEnv(t)
	if got := servedConfig(t); !reflect.DeepEqual(got, config.Default()) {
		t.Fatalf("config = %+v, want the defaults", got)
	}
}

// Precedence: flag > environment > config file > default, per setting.
func TestServePrecedence(t *testing.T) {
	file := writeConfig(t, `
http: ":1111"
rtmp: ":1112"
srt: ":1113"
public_url: https://file.example.com
live:
  window: 7
  segment_duration: 3s
`)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, c config.Config)
	}{
		{"file over default", nil, []string{"--config", file}, func(t *testing.T, c config.Config) {
			want(t, c.HTTPAddr, ":1111")
			want(t, c.Live.Window, 7)
			want(t, c.Live.SegmentDuration, 3*time.Second)
			want(t, c.LogLevel, "info") // not in the file: default
		}},
		{"config file from OSPREY_CONFIG", map[string]string{"OSPREY_CONFIG": file}, nil, func(t *testing.T, c config.Config) {
			want(t, c.HTTPAddr, ":1111")
		}},
		{"env over file", map[string]string{"OSPREY_HTTP": ":2221", "OSPREY_WINDOW": "8", "OSPREY_SEGMENT_DURATION": "4s"}, []string{"--config", file}, func(t *testing.T, c config.Config) {
			want(t, c.HTTPAddr, ":2221")
			want(t, c.Live.Window, 8)
			want(t, c.Live.SegmentDuration, 4*time.Second)
			want(t, c.RTMPAddr, ":1112") // only in the file
		}},
		{"flag over env over file", map[string]string{"OSPREY_HTTP": ":2221", "OSPREY_WINDOW": "8"}, []string{"--config", file, "--http", ":3331", "--window=9"}, func(t *testing.T, c config.Config) {
			want(t, c.HTTPAddr, ":3331")
			want(t, c.Live.Window, 9)
			want(t, c.SRTAddr, ":1113")
		}},
		{"empty env disables rtmp", map[string]string{"OSPREY_RTMP": ""}, []string{"--config", file}, func(t *testing.T, c config.Config) {
			want(t, c.RTMPAddr, "")
		}},
		{"empty flag disables srt over env", map[string]string{"OSPREY_SRT": ":5555"}, []string{"--srt="}, func(t *testing.T, c config.Config) {
			want(t, c.SRTAddr, "")
		}},
		{"every setting by env", map[string]string{
			"OSPREY_DATA": "/var/lib/osprey", "OSPREY_HTTP": "127.0.0.1:80", "OSPREY_RTMP": ":1936", "OSPREY_SRT": ":9001",
			"OSPREY_PUBLIC_URL": "https://v.example.com", "OSPREY_LOG_LEVEL": "debug", "OSPREY_LOG_FORMAT": "json",
			"OSPREY_CORS_ORIGIN": "https://app.example.com", "OSPREY_SEGMENT_DURATION": "6s", "OSPREY_WINDOW": "10",
			"OSPREY_LADDER": "low", "OSPREY_FFMPEG": "/opt/ffmpeg", "OSPREY_ADMIN_TOKEN": " secret-token-from-env ",
		}, nil, func(t *testing.T, c config.Config) {
			w := config.Default()
			w.DataDir, w.HTTPAddr, w.RTMPAddr, w.SRTAddr = "/var/lib/osprey", "127.0.0.1:80", ":1936", ":9001"
			w.PublicURL, w.LogLevel, w.LogFormat, w.CORSOrigin = "https://v.example.com", "debug", "json", "https://app.example.com"
			w.Live.SegmentDuration, w.Live.Window, w.Live.Ladder = 6*time.Second, 10, "low"
			w.FFmpeg.Path, w.AdminToken = "/opt/ffmpeg", "secret-token-from-env"
			if !reflect.DeepEqual(c, w) {
				t.Fatalf("config = %+v\nwant %+v", c, w)
			}
		}},
		{"every setting by flag", nil, []string{"--data", "d", "--http", ":81", "--rtmp", ":82", "--srt", ":83",
			"--public-url", "http://x.example", "--log-level", "warn", "--log-format", "json", "--cors-origin", "",
			"--segment-duration", "1500ms", "--window", "3", "--ladder", "passthrough", "--ffmpeg", "ff"},
			func(t *testing.T, c config.Config) {
				w := config.Default()
				w.DataDir, w.HTTPAddr, w.RTMPAddr, w.SRTAddr = "d", ":81", ":82", ":83"
				w.PublicURL, w.LogLevel, w.LogFormat, w.CORSOrigin = "http://x.example", "warn", "json", ""
				w.Live.SegmentDuration, w.Live.Window, w.Live.Ladder = 1500*time.Millisecond, 3, "passthrough"
				w.FFmpeg.Path = "ff"
				if !reflect.DeepEqual(c, w) {
					t.Fatalf("config = %+v\nwant %+v", c, w)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tt.check(t, servedConfig(t, tt.args...))
		})
	}
}

func want[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestServeInvalidConfig(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"flags", nil, []string{"--window", "2", "--log-level", "loud"}, []string{"live.window: must be at least 3", `log_level: "loud"`}},
		{"env", map[string]string{"OSPREY_PUBLIC_URL": "example.com"}, nil, []string{"public_url:"}},
		{"unknown ladder", nil, []string{"--ladder", "fancy"}, []string{`no ladder named "fancy"`}},
		{"bad file", nil, []string{"--config", writeConfig(t, "htp: :80\n")}, []string{"line 1", "htp"}},
		{"missing file", nil, []string{"--config", "/nonexistent/osprey.yaml"}, []string{"/nonexistent/osprey.yaml"}},
		{"empty int variable", map[string]string{"OSPREY_WINDOW": ""}, nil, []string{"OSPREY_WINDOW"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var cfg config.Config
			r := run(captureServe(&cfg), append([]string{"serve"}, tt.args...)...)
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d", r.code, ExitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			if cfg.HTTPAddr != "" {
				t.Error("Serve ran with an invalid config")
			}
		})
	}
}

func TestServeErrorAndLogging(t *testing.T) {
	clearEnv(t)
	var logged bool
	opts := Options{Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger, _ <-chan struct{}) error {
		log.Debug("hidden at info")
		log.Info("visible", "k", "v")
		logged = true
		return errors.New("port taken")
	}}
	r := run(opts, "serve", "--log-format", "json")
	if !logged || r.code != ExitError || !strings.Contains(r.stderr, "osprey: error: port taken") {
		t.Fatalf("result %+v", r)
	}
	line, _, _ := strings.Cut(r.stderr, "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] != "visible" || rec["k"] != "v" {
		t.Errorf("first stderr line %q is not the JSON log record (%v)", line, err)
	}
	if strings.Contains(r.stderr, "hidden at info") {
		t.Error("debug record logged at level info")
	}

	r = run(opts, "serve", "--log-level", "debug")
	if !strings.Contains(r.stderr, "level=DEBUG msg=\"hidden at info\"") {
		t.Errorf("text debug log missing: %q", r.stderr)
	}
}

func TestServeWithoutServeFunc(t *testing.T) {
	clearEnv(t)
	if r := run(Options{}, "serve"); r.code != ExitError || !strings.Contains(r.stderr, "cannot serve") {
		t.Fatalf("result %+v", r)
	}
}

// Canceling the parent context also stops Serve, without the signal message.
func TestServeStopsWithParentContext(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	opts := Options{Context: ctx, Stdout: &bytes.Buffer{}, Stderr: &stderr, Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger, _ <-chan struct{}) error {
		cancel()
		<-ctx.Done()
		return nil
	}}
	if code := Main([]string{"serve"}, opts); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "signal received") {
		t.Errorf("unexpected signal message: %q", stderr.String())
	}
}
