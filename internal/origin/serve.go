package origin

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/httpheader"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// serve writes key: from the live source when it serves it (live.go),
// else from storage. http.ServeContent does conditional
// requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since),
// Range and If-Range, HEAD and Content-Length from the headers set here.
func (o *Origin) serve(w http.ResponseWriter, r *http.Request, key string, mt mediaType) {
	switch {
	case mt.class == classDVRWindow:
		o.serveDVRWindow(w, r, key)
		return
	case mt.class == classManifest && r.URL.RawQuery != "" && o.serveDVR(w, r, key):
		return // time-shifted (dvr.go): never from the live source
	}
	if (o.live != nil || o.peer != nil) && o.serveLive(w, r, key, mt) {
		return
	}
	obj, err := o.store.Open(r.Context(), key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			if lowLatency(key, r.URL.RawQuery) {
				o.failNoStore(w, http.StatusNotFound, http.StatusText(http.StatusNotFound))
			} else {
				o.fail(w, http.StatusNotFound)
			}
			return
		}
		if r.Context().Err() == nil {
			o.log.Error("opening object", "key", key, "err", err)
		}
		o.fail(w, http.StatusInternalServerError)
		return
	}
	defer obj.Close()

	h := w.Header()
	h.Set("Content-Type", mt.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	switch mt.class {
	case classManifest:
		o.serveManifest(w, r, obj, path.Ext(key))
		return
	case classImage:
		h.Set("Cache-Control", ccImage)
	default:
		h.Set("Cache-Control", ccImmutable)
	}
	info := obj.Info()
	h.Set("ETag", quote(info.ETag))
	http.ServeContent(w, r, "", info.ModTime, obj)
}

// serveManifest serves a playlist or MPD from memory: it is read whole to
// apply the request's manifest filter (filter.go), to pick its
// Cache-Control (live or ended), to make MPD UTCTiming URLs absolute when a
// public URL is configured, and to gzip it when the client accepts that and
// asked for no range. Each representation has its own ETag: the stored
// one, then a suffix per filter, public URL and encoding.
func (o *Origin) serveManifest(w http.ResponseWriter, r *http.Request, obj storage.Object, ext string) {
	info := obj.Info()
	body, err := readManifest(obj, info.Size)
	if err != nil {
		o.log.Error("reading manifest", "key", info.Key, "err", err)
		o.fail(w, http.StatusInternalServerError)
		return
	}
	o.serveManifestBody(w, r, info.Key, body, info.ETag, info.ModTime, ext)
}

// serveManifestBody is serveManifest for a manifest already read (from
// storage, or from a live source) with its ETag and modification time.
func (o *Origin) serveManifestBody(w http.ResponseWriter, r *http.Request, key string, body []byte, storedTag string, modtime time.Time, ext string) {
	info := struct {
		Key     string
		ETag    string
		ModTime time.Time
	}{key, storedTag, modtime}
	// Per-request filtering (filter.go) of multivariant playlists and MPDs;
	// without filter parameters, the stored bytes as they are.
	body, ftag, err := filterManifest(r.URL.RawQuery, body, ext)
	if err != nil {
		var fe *filterError
		if errors.As(err, &fe) {
			o.failWith(w, http.StatusBadRequest, fe.Error())
			return
		}
		o.log.Error("filtering manifest", "key", info.Key, "err", err)
		o.fail(w, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	etag := info.ETag + ftag
	ended := false
	switch ext {
	case ".m3u8":
		ended = bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
	case ".mpd":
		ended = mpdIsStatic(body)
		// UTCTiming stays root-relative ("/time", resolved by players
		// against the MPD's URL: the edge's, behind an edge) unless a
		// public URL is configured. Nothing here depends on the request,
		// so one cached MPD serves every viewer.
		if out, ok := rewriteUTCTiming(body, o.publicBase); ok {
			body = out
			etag += o.publicTag
		}
	}
	if ended {
		h.Set("Cache-Control", ccEnded)
	} else {
		h.Set("Cache-Control", o.liveCC)
	}

	o.sendManifest(w, r, info.Key, body, etag, info.ModTime)
}

// sendManifest writes a manifest whose Content-Type and Cache-Control are
// set: gzipped when the client accepts that and asked for no range, with
// etag (plus a suffix per encoding) and, unless zero, modtime as
// validators; http.ServeContent does the conditional requests, ranges and
// HEAD.
func (o *Origin) sendManifest(w http.ResponseWriter, r *http.Request, key string, body []byte, etag string, modtime time.Time) {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if r.Header.Get("Range") == "" && httpheader.AcceptsGzip(r.Header) {
		etag += "--gzip"
		h.Set("Content-Encoding", "gzip")
		// A revalidation that will be answered 304 needs no body.
		if etagListed(r.Header.Get("If-None-Match"), etag) {
			body = nil
		} else if gz, err := o.gzip(body); err != nil {
			o.log.Error("compressing manifest", "key", key, "err", err)
			h.Del("Content-Encoding")
			o.fail(w, http.StatusInternalServerError)
			return
		} else {
			body = gz
			// ServeContent leaves Content-Length to us when there is a
			// Content-Encoding; it removes it again from 304s and errors.
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	h.Set("ETag", quote(etag))

	// Last-Modified has one-second resolution, and a live manifest can change
	// twice within a second. When If-Modified-Since (without If-None-Match)
	// names the very second of a modification time that has a fractional
	// part, it cannot prove the client has this version: serve it in full.
	if r.Header.Get("If-None-Match") == "" && imsAmbiguous(r.Header.Get("If-Modified-Since"), modtime) {
		h.Set("Last-Modified", modtime.UTC().Format(http.TimeFormat))
		modtime = time.Time{} // ServeContent then ignores date preconditions
	}
	http.ServeContent(w, r, "", modtime, bytes.NewReader(body))
}

func readManifest(obj storage.Object, size int64) ([]byte, error) {
	if size > maxManifest {
		return nil, fmt.Errorf("manifest of %d bytes exceeds the %d-byte limit", size, maxManifest)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(obj, maxManifest+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxManifest {
		return nil, fmt.Errorf("manifest exceeds the %d-byte limit", maxManifest)
	}
	return buf.Bytes(), nil
}

func (o *Origin) gzip(body []byte) ([]byte, error) {
	zw := o.gzipPool.Get().(*gzip.Writer)
	defer o.gzipPool.Put(zw)
	var out bytes.Buffer
	out.Grow(len(body)/3 + 64)
	zw.Reset(&out)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// etagListed reports whether an If-None-Match value lists etag (weak
// comparison, as If-None-Match uses) or is "*".
func etagListed(inm, etag string) bool {
	if inm == "" {
		return false
	}
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		tag = strings.TrimPrefix(tag, "W/")
		if tag == quote(etag) {
			return true
		}
	}
	return false
}

// imsAmbiguous reports whether an If-Modified-Since value equals modtime
// truncated to the second while modtime itself has a fractional second.
func imsAmbiguous(ims string, modtime time.Time) bool {
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	sec := modtime.Truncate(time.Second)
	return sec.Equal(t) && !sec.Equal(modtime)
}

func quote(etag string) string { return `"` + etag + `"` }
