package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// contentSecurityPolicy allows the pages nothing but their own scripts and
// styles, media and XHR/fetch from this origin, and blob: URLs, which Media
// Source Extensions (media-src) and hls.js's transmuxing worker need.
// data: in media-src is for the empty <track src="data:,WEBVTT"> hls.js adds for subtitles.
// Pages may be framed by this origin only; player pages also by the
// origins in Config.EmbedOrigins (see framePolicy).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; media-src 'self' blob: data:; connect-src 'self'; worker-src 'self' blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// framePolicy is a page's Content-Security-Policy and X-Frame-Options:
// player pages may be embedded by the configured origins, which
// X-Frame-Options cannot list, so they get only the CSP's frame-ancestors.
type framePolicy struct {
	csp, xfo string
}

func newFramePolicies(embed []string) (page, player framePolicy) {
	page = framePolicy{csp: contentSecurityPolicy, xfo: "SAMEORIGIN"}
	if len(embed) == 0 {
		return page, page
	}
	player = framePolicy{csp: contentSecurityPolicy + " " + strings.Join(embed, " ")}
	return page, player
}

// pageSet holds one parsed template per page, each with the shared layout.
type pageSet struct {
	home, watch, vod, notFound, failed *template.Template
}

func parsePages(assets *assetSet) (*pageSet, error) {
	funcs := template.FuncMap{"asset": assets.url}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(embedded, pagesDir+"/layout.html", pagesDir+"/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing embedded page %s: %w", name, err)
		}
		return t, nil
	}
	var ps pageSet
	var err error
	for _, p := range []struct {
		name string
		t    **template.Template
	}{{"home", &ps.home}, {"watch", &ps.watch}, {"vod", &ps.vod}, {"notfound", &ps.notFound}, {"error", &ps.failed}} {
		if *p.t, err = parse(p.name); err != nil {
			return nil, err
		}
	}
	return &ps, nil
}

// watchPage is what pages/watch.html shows.
type watchPage struct {
	Channel string
	Engine  string // "hls" or "dash"
	HLSURL  string
	DASHURL string
	TimeURL string
}

// notFoundPage is what pages/notfound.html shows.
type notFoundPage struct {
	Channel string // "" unless a channel was asked for
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, s.pages.home, nil)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, s.pages.notFound, notFoundPage{})
}

func (s *server) watch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("channel")
	if !validChannelID(id) {
		s.render(w, r, http.StatusNotFound, s.pages.notFound, notFoundPage{})
		return
	}
	if s.exists != nil {
		ok, err := s.exists(r.Context(), id)
		if err != nil {
			s.log.Error("looking up channel for the player page", "channel", id, "err", err)
			s.render(w, r, http.StatusInternalServerError, s.pages.failed, nil)
			return
		}
		if !ok {
			s.render(w, r, http.StatusNotFound, s.pages.notFound, notFoundPage{Channel: id})
			return
		}
	}
	engine := "hls"
	if r.URL.Query().Get("player") == "dash" {
		engine = "dash"
	}
	s.render(w, r, http.StatusOK, s.pages.watch, watchPage{
		Channel: id,
		Engine:  engine,
		HLSURL:  fmt.Sprintf(hlsPath, id),
		DASHURL: fmt.Sprintf(dashPath, id),
		TimeURL: timePath,
	})
}

// render executes a page into a buffer first, so that a template failure
// becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("rendering page", "page", t.Name(), "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-cache")
	policy := s.pagePolicy
	if t == s.pages.watch || t == s.pages.vod {
		policy = s.playerPolicy
	}
	h.Set("Content-Security-Policy", policy.csp)
	if policy.xfo != "" {
		h.Set("X-Frame-Options", policy.xfo)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// validChannelID accepts what catalog IDs are made of ("ch_" + URL-safe
// random), so an ID can go into a URL path unescaped.
func validChannelID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
