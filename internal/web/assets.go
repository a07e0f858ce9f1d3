package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/httpheader"
)

// embedded holds assets/pages (templates), assets/static (served under
// /assets/) and assets/VENDOR.sha256 (not served), as web/build.sh wrote them.
//
//go:embed assets
var embedded embed.FS

const (
	staticDir     = "assets/static"
	pagesDir      = "assets/pages"
	immutableTTL  = "public, max-age=31536000, immutable"
	revalidateTTL = "no-cache"
	hashLen       = 10 // hex digits of SHA-256 in hashed names and ETags
)

// asset is one file of assets/static, ready to serve.
type asset struct {
	name   string // "player.js"
	hashed string // "player.0123456789.js"
	ctype  string
	raw    []byte
	etag   string // of raw; the gzip variant's adds "-gz"

	gzOnce sync.Once
	gz     []byte // compressed on first use; nil when compressing does not pay
}

// gzipped returns the gzip variant, or nil when there is none worth serving.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() { a.gz = gzipIfSmaller(a.raw) })
	return a.gz
}

// assetSet finds assets by plain or hashed name. The map never changes after
// loadAssets.
type assetSet struct {
	byName map[string]*asset // plain and hashed names
}

func loadAssets() (*assetSet, error) {
	files, err := fs.ReadDir(embedded, staticDir)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", staticDir, err)
	}
	set := &assetSet{byName: make(map[string]*asset, 2*len(files))}
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		a, err := newAsset(f.Name())
		if err != nil {
			return nil, err
		}
		set.byName[a.name] = a
		set.byName[a.hashed] = a
	}
	return set, nil
}

func newAsset(name string) (*asset, error) {
	raw, err := embedded.ReadFile(staticDir + "/" + name)
	if err != nil {
		return nil, fmt.Errorf("reading embedded asset %s: %w", name, err)
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])[:hashLen]
	a := &asset{
		name:   name,
		hashed: hashedName(name, hash),
		ctype:  contentType(name),
		raw:    raw,
		etag:   `"` + hash + `"`,
	}
	return a, nil
}

// hashedName puts hash before the last extension: hls.min.js -> hls.min.HASH.js.
func hashedName(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default: // licences
		return "text/plain; charset=utf-8"
	}
}

// gzipIfSmaller compresses raw, or returns nil when that saves under 10 %.
func gzipIfSmaller(raw []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // errors only on a bad level
	// Writing to a bytes.Buffer cannot fail.
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if buf.Len() >= len(raw)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// url is the immutable, content-hashed address of the asset named name.
func (s *assetSet) url(name string) (string, error) {
	a, ok := s.byName[name]
	if !ok || a.name != name {
		return "", fmt.Errorf("no embedded asset %q", name)
	}
	return "/assets/" + a.hashed, nil
}

func (s *server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	a, ok := s.assets.byName[name]
	if !ok {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if name == a.hashed {
		h.Set("Cache-Control", immutableTTL)
	} else {
		h.Set("Cache-Control", revalidateTTL)
	}
	body, etag := a.raw, a.etag
	if gz := a.gzipped(); gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if httpheader.AcceptsGzip(r.Header) {
			body, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}
