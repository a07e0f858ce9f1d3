package web

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// webDir is the npm project that web/build.sh builds the assets from.
const webDir = "../../web"

// vendorEntry is one line of assets/VENDOR.sha256.
type vendorEntry struct {
	sum, asset, pkg, version, source string
}

func readVendorManifest(t *testing.T) []vendorEntry {
	t.Helper()
	b, err := embedded.ReadFile("assets/VENDOR.sha256")
	if err != nil {
		t.Fatalf("the embedded assets have no VENDOR.sha256 (run web/build.sh): %v", err)
	}
	var entries []vendorEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("VENDOR.sha256 line %d: %d fields, want 5: %q", n, len(f), line)
		}
		entries = append(entries, vendorEntry{sum: f[0], asset: f[1], pkg: f[2], version: f[3], source: f[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries
}

// readJSON reads a file of the web/ npm project.
func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(webDir, name))
	if err != nil {
		t.Fatalf("reading web/%s: %v", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("parsing web/%s: %v", name, err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestVendoredFiles holds the embedded players to VENDOR.sha256, to the exact
// versions web/package.json and package-lock.json pin and, where
// web/node_modules is installed, to the files npm installed there.
func TestVendoredFiles(t *testing.T) {
	t.Parallel()
	entries := readVendorManifest(t)

	var pkgJSON struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, "package.json", &pkgJSON)
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, "package-lock.json", &lock)

	if _, ok := pkgJSON.Dependencies["dash.js"]; ok {
		t.Errorf(`web/package.json depends on "dash.js", an unrelated package; the DASH-IF player is "dashjs"`)
	}
	exact := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for pkg, v := range pkgJSON.Dependencies {
		if !exact.MatchString(v) {
			t.Errorf("web/package.json: %s is %q, not an exact version", pkg, v)
		}
	}

	required := map[string]string{ // asset -> package it must come from
		"static/hls.min.js":              "hls.js",
		"static/dash.mediaplayer.min.js": "dashjs",
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.asset] = true
		if want, ok := required[e.asset]; ok && e.pkg != want {
			t.Errorf("%s comes from %s, want %s", e.asset, e.pkg, want)
		}
		data, err := embedded.ReadFile("assets/" + e.asset)
		if err != nil {
			t.Errorf("VENDOR.sha256 lists %s, which is not embedded: %v", e.asset, err)
			continue
		}
		if got := sha256Hex(data); got != e.sum {
			t.Errorf("embedded %s has SHA-256 %s, VENDOR.sha256 says %s", e.asset, got, e.sum)
		}
		if got := pkgJSON.Dependencies[e.pkg]; got != e.version {
			t.Errorf("%s: VENDOR.sha256 has %s %s, web/package.json pins %q", e.asset, e.pkg, e.version, got)
		}
		if got := lock.Packages["node_modules/"+e.pkg].Version; got != e.version {
			t.Errorf("%s: VENDOR.sha256 has %s %s, web/package-lock.json has %q", e.asset, e.pkg, e.version, got)
		}
	}
	for asset := range required {
		if !seen[asset] {
			t.Errorf("VENDOR.sha256 does not list %s", asset)
		}
	}

	// Against the installed packages, when there are any.
	compared := 0
	for _, e := range entries {
		dir := filepath.Join(webDir, "node_modules", e.pkg)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var installed struct {
			Version string `json:"version"`
		}
		readJSON(t, filepath.Join("node_modules", e.pkg, "package.json"), &installed)
		if installed.Version != e.version {
			t.Errorf("web/node_modules has %s %s, the assets were built from %s: run `cd web && rm -rf node_modules && npm ci && ./build.sh`",
				e.pkg, installed.Version, e.version)
			continue
		}
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.source)))
		if err != nil {
			t.Errorf("reading %s from web/node_modules: %v", e.source, err)
			continue
		}
		got, _ := embedded.ReadFile("assets/" + e.asset)
		if !bytes.Equal(got, want) {
			t.Errorf("embedded %s differs from web/node_modules/%s/%s: run web/build.sh", e.asset, e.pkg, e.source)
		}
		compared++
	}
	t.Logf("%d vendored files match VENDOR.sha256 and the pinned versions; %d also compared byte for byte with web/node_modules",
		len(entries), compared)
}

// TestEmbeddedFilesAreBuilt checks that assets/ holds exactly web/src plus the
// vendored files, byte for byte: an edit to web/src without a rebuild, or a
// stray file in assets/, fails here.
func TestEmbeddedFilesAreBuilt(t *testing.T) {
	t.Parallel()
	vendored := map[string]bool{"VENDOR.sha256": true}
	for _, e := range readVendorManifest(t) {
		vendored[e.asset] = true
	}
	sources := map[string][]byte{}
	srcRoot := filepath.Join(webDir, "src")
	err := filepath.WalkDir(srcRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(srcRoot, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		sources[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("reading web/src: %v", err)
	}
	if len(sources) == 0 {
		t.Fatal("web/src is empty")
	}
	embeddedFiles := map[string]bool{}
	err = fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, "assets/")
		embeddedFiles[rel] = true
		if vendored[rel] {
			return nil
		}
		want, ok := sources[rel]
		if !ok {
			t.Errorf("assets/%s is neither in web/src nor in VENDOR.sha256", rel)
			return nil
		}
		got, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			t.Errorf("assets/%s differs from web/src/%s: run web/build.sh", rel, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range sources {
		if !embeddedFiles[rel] {
			t.Errorf("web/src/%s is not in assets: run web/build.sh", rel)
		}
		if dir := path.Dir(rel); dir != "static" && dir != "pages" {
			t.Errorf("web/src/%s: sources go under static/ (served) or pages/ (templates)", rel)
		}
	}
}
