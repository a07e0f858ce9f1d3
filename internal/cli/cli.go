// Package cli is the `osprey` command line: `osprey serve` runs the server,
// `osprey channel ...` manages channels through the HTTP API of a running
// server, and `osprey version` prints the version.
//
// Settings for serve come, in decreasing order of precedence, from flags,
// OSPREY_* environment variables, the YAML file named by --config, and the
// built-in defaults. (kong, the flag parser, ranks its own configuration
// resolvers above environment variables, so the file is not loaded through
// kong: flags and variables are parsed into pointer fields, where nil means
// "not given", and laid over config.Load's result.)
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kong"

	"github.com/ospreyvideo/osprey/internal/config"
)

// Exit statuses.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed
	ExitUsage = 2 // bad flags, arguments or configuration
)

// Options are Main's collaborators.
type Options struct {
	// Serve runs the server until ctx is done (app.Run). Required for
	// `serve`. reload receives a value on every SIGHUP: a request to read
	// the TLS certificate again.
	Serve func(ctx context.Context, cfg config.Config, log *slog.Logger, reload <-chan struct{}) error
	// Edge runs `osprey edge` until ctx is done (app.RunEdge); reload as
	// for Serve.
	Edge func(ctx context.Context, cfg config.Edge, adminToken string, log *slog.Logger, reload <-chan struct{}) error
	// Version is printed by `osprey version`; "" shows "devel".
	Version string
	// Stdout and Stderr default to os.Stdout and os.Stderr. Logs go to Stderr.
	Stdout, Stderr io.Writer
	// Context is the parent of every command's context; nil means Background.
	Context context.Context
}

// runEnv is bound into every command's Run method.
type runEnv struct {
	opts           Options
	ctx            context.Context
	stdout, stderr io.Writer
}

type rootCmd struct {
	Serve   serveCmd   `cmd:"" help:"Run the server: RTMP/SRT ingest, transcoding, packaging, the HLS/DASH origin, the API and the console."`
	Channel channelCmd `cmd:"" help:"Manage live channels on a running server, through its HTTP API."`
	Version versionCmd `cmd:"" help:"Print the version."`
	Asset   assetCmd   `cmd:"" help:"Upload and manage on-demand videos (assets) on a running server, through its HTTP API."`
	Edge    edgeCmd    `cmd:"" help:"Run a caching edge (CDN node) in front of one or more origins."`
	SignURL signURLCmd `cmd:"" name:"sign-url" help:"Sign a URL (or make signed cookies) for an edge's protected paths, as CloudFront does."`
}

const description = `Osprey: a self-hosted live and on-demand video platform.

Every flag can also be set with an environment variable: OSPREY_ followed by
the flag's name in capitals, with "-" as "_" (--public-url is
OSPREY_PUBLIC_URL). The admin token is read from OSPREY_ADMIN_TOKEN. Flags win
over variables, which win over the --config file, which wins over the
defaults. "osprey <command> --help" describes each flag.`

// exitPanic carries kong's exit status (after --help, say) out of Parse.
type exitPanic int

// Main runs the command line args (without the program name) and returns
// the process exit status.
func Main(args []string, opts Options) (code int) {
	env := &runEnv{opts: opts, ctx: opts.Context, stdout: opts.Stdout, stderr: opts.Stderr}
	if env.ctx == nil {
		env.ctx = context.Background()
	}
	if env.stdout == nil {
		env.stdout = os.Stdout
	}
	if env.stderr == nil {
		env.stderr = os.Stderr
	}

	var root rootCmd
	parser, err := kong.New(&root,
		kong.Name("osprey"),
		kong.Description(description),
		kong.Writers(env.stdout, env.stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		defaultVars(),
		edgeVars(),
	)
	if err != nil {
		fmt.Fprintf(env.stderr, "osprey: internal error: %v\n", err)
		return ExitError
	}
	parser.Model.Help = description + "\n\n" + flagSummary(parser.Model.Node)
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitPanic)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()

	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(env.stderr, "osprey: error: %v\n", err)
		cmd := "osprey"
		var perr *kong.ParseError
		if errors.As(err, &perr) && perr.Context != nil && perr.Context.Selected() != nil {
			cmd = perr.Context.Selected().FullPath()
		}
		fmt.Fprintf(env.stderr, "Run \"%s --help\" for more information.\n", cmd)
		return ExitUsage
	}
	if err := kctx.Run(env, &root.Channel); err != nil {
		fmt.Fprintf(env.stderr, "osprey: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return ExitUsage
		}
		return ExitError
	}
	return ExitOK
}

// usageError marks errors caused by the invocation rather than the run.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// flagSummary lists every command's flags with their variables and defaults,
// for the top-level help.
func flagSummary(root *kong.Node) string {
	vars := defaultVars()
	for k, v := range edgeVars() {
		vars[k] = v
	}
	var b strings.Builder
	for _, cmd := range root.Children {
		if len(cmd.Flags) == 0 {
			continue
		}
		fmt.Fprintf(&b, "Flags of osprey %s (flag, variable, default):\n\n", cmd.Name)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, f := range cmd.Flags {
			env := strings.Join(f.Envs, ", ")
			prefix := "default_"
			if _, edge := vars["edge_"+strings.ReplaceAll(f.Name, "-", "_")]; edge && cmd.Name == "edge" {
				prefix = "edge_"
			}
			def, ok := vars[prefix+strings.ReplaceAll(f.Name, "-", "_")]
			switch {
			case f.IsBool():
				def = "false"
			case !ok:
				def = "none"
			case def == "":
				def = `""`
			}
			fmt.Fprintf(tw, "    --%s\t%s\t%s\n", f.Name, env, def)
		}
		_ = tw.Flush()
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// defaultVars exposes the defaults to help texts as ${default_<name>}.
func defaultVars() kong.Vars {
	d := config.Default()
	return kong.Vars{
		"default_data":             d.DataDir,
		"default_http":             d.HTTPAddr,
		"default_rtmp":             d.RTMPAddr,
		"default_srt":              d.SRTAddr,
		"default_public_url":       d.PublicURL,
		"default_log_level":        d.LogLevel,
		"default_log_format":       d.LogFormat,
		"default_cors_origin":      d.CORSOrigin,
		"default_segment_duration": d.Live.SegmentDuration.String(),
		"default_part_duration":    d.Live.PartDuration.String(),
		"default_window":           fmt.Sprint(d.Live.Window),
		"default_dvr_window":       d.Live.DVRWindow.String(),
		"default_ladder":           d.Live.Ladder,
		"default_roles":            d.Roles,
		"default_ffmpeg":           d.FFmpeg.Path,
		"default_server":           defaultServer,
		"default_token":            "read from <data>/admin-token",
	}
}
