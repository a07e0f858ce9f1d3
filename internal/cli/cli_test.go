package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(opts Options, args ...string) result {
	var stdout, stderr bytes.Buffer
	opts.Stdout, opts.Stderr = &stdout, &stderr
	code := Main(args, opts)
	return result{code, stdout.String(), stderr.String()}
}

// captureServe returns Options whose Serve records the config it was given.
func captureServe(got *config.Config) Options {
	return Options{Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger, _ <-chan struct{}) error {
		*got = cfg
		return nil
	}}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(Options{Version: "v1.2.3"}, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "osprey v1.2.3") || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("version: %+v", r)
	}
	if r := run(Options{}, "version"); !strings.HasPrefix(r.stdout, "osprey devel") {
		t.Fatalf("version without one: %+v", r)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{`expected one of "serve", "channel", "version"`, `Run "osprey --help"`}},
		{[]string{"serve", "--bogus"}, []string{"unknown flag --bogus", `Run "osprey serve --help"`}},
		{[]string{"channel", "get"}, []string{`expected "<id>"`, `Run "osprey channel get --help"`}},
		{[]string{"serve", "--window", "many"}, []string{"--window", "many"}},
		{[]string{"serve", "--segment-duration", "2"}, []string{"--segment-duration"}},
		{[]string{"frobnicate"}, []string{"unexpected argument frobnicate"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var cfg config.Config
			r := run(captureServe(&cfg), tt.args...)
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d", r.code, ExitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			if cfg.HTTPAddr != "" {
				t.Error("Serve ran despite a usage error")
			}
		})
	}
}

// Every flag of serve and channel is documented with its variable and default.
func TestHelp(t *testing.T) {
	t.Parallel()
	serveFlags := []struct{ flag, env, def string }{
		{"--config", "OSPREY_CONFIG", "none"},
		{"--data", "OSPREY_DATA", `"./osprey-data"`},
		{"--http", "OSPREY_HTTP", `":8080"`},
		{"--rtmp", "OSPREY_RTMP", `":1935"`},
		{"--srt", "OSPREY_SRT", `":9000"`},
		{"--public-url", "OSPREY_PUBLIC_URL", `""`},
		{"--log-level", "OSPREY_LOG_LEVEL", `"info"`},
		{"--log-format", "OSPREY_LOG_FORMAT", `"text"`},
		{"--cors-origin", "OSPREY_CORS_ORIGIN", `"*"`},
		{"--segment-duration", "OSPREY_SEGMENT_DURATION", "2s"},
		{"--window", "OSPREY_WINDOW", "10"},
		{"--part-duration", "OSPREY_PART_DURATION", "200ms"},
		{"--dvr-window", "OSPREY_DVR_WINDOW", "2h0m0s"},
		{"--ladder", "OSPREY_LADDER", `"default"`},
		{"--ffmpeg", "OSPREY_FFMPEG", `"ffmpeg"`},
	}
	channelFlags := []struct{ flag, env, def string }{
		{"--server", "OSPREY_SERVER", `"http://127.0.0.1:8080"`},
		{"--token", "OSPREY_ADMIN_TOKEN", "admin-token"},
		{"--data", "OSPREY_DATA", `"./osprey-data"`},
		{"--json", "", ""},
	}
	unquote := func(s string) string { return strings.Trim(s, `"`) }

	top := run(Options{}, "--help")
	if top.code != 0 {
		t.Fatalf("osprey --help: exit %d, stderr %q", top.code, top.stderr)
	}
	for _, f := range append(serveFlags, channelFlags...) {
		def := unquote(f.def)
		if def == "" {
			def = `""`
		}
		if f.flag == "--json" {
			def = "false"
		}
		// One line of the summary table per flag: "--flag  VAR  default".
		re := `(?m)^\s+` + f.flag + `\s+` + f.env + `\s+(.*[\s/])?` + regexpQuote(def) + `$`
		if !matches(re, top.stdout) {
			t.Errorf("osprey --help has no line matching %s", re)
		}
	}
	for _, cmd := range []string{"serve", "channel create", "channel list", "channel get", "channel delete", "channel rotate-key", "version"} {
		if !strings.Contains(top.stdout, cmd) {
			t.Errorf("osprey --help does not list %q", cmd)
		}
	}

	for _, tc := range []struct {
		args  []string
		flags []struct{ flag, env, def string }
	}{
		{[]string{"serve", "--help"}, serveFlags},
		{[]string{"channel", "--help"}, channelFlags},
		{[]string{"channel", "list", "--help"}, channelFlags},
	} {
		r := run(Options{}, tc.args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d", tc.args, r.code)
		}
		text := strings.Join(strings.Fields(r.stdout), " ") // undo wrapping
		for _, f := range tc.flags {
			if !strings.Contains(text, f.flag+"=") && !strings.Contains(text, f.flag+" ") {
				t.Errorf("%v: %s missing", tc.args, f.flag)
				continue
			}
			section := text[strings.Index(text, f.flag):]
			if next := strings.Index(section[2:], " --"); next > 0 {
				section = section[:next+2]
			}
			if f.env != "" && !strings.Contains(section, "($"+f.env+")") {
				t.Errorf("%v: %s does not name $%s: %q", tc.args, f.flag, f.env, section)
			}
			if f.def != "" && !strings.Contains(section, f.def) {
				t.Errorf("%v: %s does not show its default %s: %q", tc.args, f.flag, f.def, section)
			}
		}
	}
}
