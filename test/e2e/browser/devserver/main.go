// Command devserver serves Osprey's player pages over a directory of ready-made
// HLS/DASH output, so that the browser harness (../play.mjs) can be exercised
// without the whole server, ingest or transcoder:
//
//	GET /live/{channel}/...  files of DIR/{channel}/ (e.g. written by ffmpeg)
//	GET /time                the current time, ISO 8601 (the MPD's UTCTiming)
//	everything else          internal/web: /watch/{channel}, /assets/..., /
//
// A channel exists when DIR/{channel} is a directory; it is idle (manifest 404)
// until its manifests appear. With -broken, media segments (*.m4s other than
// init*) answer 404, to check that the harness fails on a broken stream.
//
//	go run ./test/e2e/browser/devserver -dir /tmp/streams -addr 127.0.0.1:8089
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/web"
)

func main() {
	dir := flag.String("dir", ".", "directory holding one subdirectory per channel")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	broken := flag.Bool("broken", false, "answer 404 for media segments")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*dir, *addr, *broken, *verbose, log); err != nil {
		log.Error("devserver", "err", err)
		os.Exit(1)
	}
}

func run(dir, addr string, broken, verbose bool, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	h := newHandler(dir, broken, log)
	if verbose {
		h = logRequests(h, log)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

func newHandler(dir string, broken bool, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", web.New(web.Config{
		ChannelExists: func(_ context.Context, id string) (bool, error) {
			fi, err := os.Stat(filepath.Join(dir, id))
			return err == nil && fi.IsDir(), nil
		},
		Logger: log,
	}))
	mux.HandleFunc("GET /time", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	})
	files := http.StripPrefix("/live/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("GET /live/{channel}/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		if broken && strings.HasSuffix(name, ".m4s") && !strings.HasPrefix(name, "init") {
			http.NotFound(w, r)
			return
		}
		if ct := mediaType(name); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if ext := path.Ext(name); ext == ".m3u8" || ext == ".mpd" {
			w.Header().Set("Cache-Control", "no-store")
		}
		files.ServeHTTP(w, r)
	})
	return mux
}

func mediaType(name string) string {
	switch path.Ext(name) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".mpd":
		return "application/dash+xml"
	case ".m4s":
		return "video/iso.segment"
	case ".mp4":
		return "video/mp4"
	}
	return ""
}

func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("request", "method", r.Method, "path", r.URL.RequestURI(), "status", rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
