package web

import (
	"net/http"
	"strings"
)

// URLs the on-demand player page fetches, on the same origin as the page
// (served by the origin under /vod/).
const (
	vodHLSPath        = "/vod/%s/index.m3u8"
	vodDASHPath       = "/vod/%s/manifest.mpd"
	vodPosterPath     = "/vod/%s/thumbs/poster.jpg"
	vodThumbnailsPath = "/vod/%s/thumbs/thumbnails.vtt"
)

// vodPage is what pages/vod.html shows.
type vodPage struct {
	Asset         string
	Engine        string // "hls" or "dash"
	Autoplay      bool
	HLSURL        string
	DASHURL       string
	PosterURL     string
	ThumbnailsURL string
}

// watchVOD serves the player page of an on-demand asset. It does not look
// the asset up: the page itself tells a missing or unfinished asset (its
// manifest answers 404) and waits for it.
func (s *server) watchVOD(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("asset")
	if !validAssetID(id) {
		s.render(w, r, http.StatusNotFound, s.pages.notFound, notFoundPage{})
		return
	}
	q := r.URL.Query()
	engine := "hls"
	if q.Get("player") == "dash" || q.Get("player") == "" && q.Get("engine") == "dash" {
		engine = "dash"
	}
	s.render(w, r, http.StatusOK, s.pages.vod, vodPage{
		Asset:         id,
		Engine:        engine,
		Autoplay:      q.Get("autoplay") != "0",
		HLSURL:        vodURL(vodHLSPath, id),
		DASHURL:       vodURL(vodDASHPath, id),
		PosterURL:     vodURL(vodPosterPath, id),
		ThumbnailsURL: vodURL(vodThumbnailsPath, id),
	})
}

func vodURL(pattern, id string) string { return strings.Replace(pattern, "%s", id, 1) }

// validAssetID accepts what catalog asset IDs are made of: "as_" and
// URL-safe characters, so the ID goes into URLs unescaped.
func validAssetID(id string) bool {
	return strings.HasPrefix(id, "as_") && len(id) > len("as_") && validChannelID(id)
}
