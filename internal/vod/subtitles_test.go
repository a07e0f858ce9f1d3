package vod

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/storage"
)

const testVTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n"

// checkSubtitleListed checks that the ready asset a's manifests list sub
// and that its file is served with the given content.
func (e *env) checkSubtitleListed(a catalog.Asset, lang string, vtt []byte) {
	e.t.Helper()
	var sub *catalog.AssetSubtitle
	for i := range a.Output.Subtitles {
		if a.Output.Subtitles[i].Language == lang {
			sub = &a.Output.Subtitles[i]
		}
	}
	if sub == nil {
		e.t.Errorf("asset %s lists no %s subtitle: %+v", a.ID, lang, a.Output.Subtitles)
		return
	}
	if got := e.object(Prefix(a.ID) + "/" + sub.Path); !bytes.Equal(got, vtt) {
		e.t.Errorf("%s serves %q, want %q", sub.Path, got, vtt)
	}
	m := string(e.object(Prefix(a.ID) + "/index.m3u8"))
	for _, want := range []string{"TYPE=SUBTITLES", `LANGUAGE="` + lang + `"`, `URI="subs/` + sub.Name + `.m3u8"`, `SUBTITLES="subs"`} {
		if !strings.Contains(m, want) {
			e.t.Errorf("index.m3u8 lacks %s:\n%s", want, m)
		}
	}
	if p := string(e.object(Prefix(a.ID) + "/subs/" + sub.Name + ".m3u8")); !strings.Contains(p, strings.TrimPrefix(sub.Path, "subs/")) {
		e.t.Errorf("subs/%s.m3u8 does not name %s:\n%s", sub.Name, sub.Path, p)
	}
	mpd := string(e.object(Prefix(a.ID) + "/manifest.mpd"))
	for _, want := range []string{"text/vtt", `lang="` + lang + `"`, sub.Path} {
		if !strings.Contains(mpd, want) {
			e.t.Errorf("manifest.mpd lacks %s:\n%s", want, mpd)
		}
	}
}

func TestAddSubtitleToReadyAsset(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	id := e.create(makeClip(t, t.TempDir(), "clip.mp4", 3)).ID
	if a := e.waitDone(id); a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}

	refused := []struct {
		name, lang, vtt string
	}{
		{"empty language", "", testVTT},
		{"a word", "english", testVTT},
		{"one letter", "e", testVTT},
		{"underscore", "en_US", testVTT},
		{"trailing dash", "en-", testVTT},
		{"digits", "12", testVTT},
		{"long subtag", "en-abcdefghi", testVTT},
		{"path", "../en", testVTT},
		{"SubRip", "en", "1\n00:00:00,000 --> 00:00:02,000\nHello\n"},
		{"empty file", "en", ""},
		{"lowercase header", "en", "webvtt\n"},
		{"leading space", "en", " WEBVTT\n"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.AddSubtitle(e.ctx, id, catalog.AssetSubtitle{Language: tt.lang}, []byte(tt.vtt))
			var ie *InputError
			if !errors.As(err, &ie) || ie.HTTPStatus() != 400 || ie.Reason == "" {
				t.Fatalf("AddSubtitle(%q) = %v, want an *InputError with status 400", tt.lang, err)
			}
		})
	}
	if a, _ := e.cat.GetAsset(e.ctx, id); len(a.Output.Subtitles) != 0 {
		t.Fatalf("refused subtitles were recorded: %+v", a.Output.Subtitles)
	}
	if got := e.files("sources/" + id + "/subs"); len(got) != 0 {
		t.Fatalf("refused subtitles were stored: %v", got)
	}
	if _, err := e.svc.AddSubtitle(e.ctx, "as_missing", catalog.AssetSubtitle{Language: "en"}, []byte(testVTT)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("AddSubtitle to a missing asset: %v", err)
	}

	en := []byte("\uFEFF" + testVTT) // a byte order mark is allowed
	a, err := e.svc.AddSubtitle(e.ctx, id, catalog.AssetSubtitle{Language: "en", Label: "English"}, en)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Output.Subtitles) != 1 || a.Output.Subtitles[0].Name != "en" || a.Output.Subtitles[0].Label != "English" ||
		!strings.HasPrefix(a.Output.Subtitles[0].Path, "subs/en-") || !strings.HasSuffix(a.Output.Subtitles[0].Path, ".vtt") {
		t.Fatalf("subtitles %+v", a.Output.Subtitles)
	}
	e.checkSubtitleListed(a, "en", en)
	if m := string(e.object(Prefix(id) + "/index.m3u8")); !strings.Contains(m, `NAME="English"`) {
		t.Errorf("index.m3u8 does not show the label:\n%s", m)
	}

	pt := []byte(testVTT + "\n00:00:02.000 --> 00:00:03.000\nOlá\n")
	a, err = e.svc.AddSubtitle(e.ctx, id, catalog.AssetSubtitle{Language: "pt-BR"}, pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Output.Subtitles) != 2 || a.Output.Subtitles[1].Name != "pt-br" || a.Output.Subtitles[1].Label != "pt-BR" {
		t.Fatalf("subtitles %+v", a.Output.Subtitles)
	}
	e.checkSubtitleListed(a, "en", en)
	e.checkSubtitleListed(a, "pt-BR", pt)

	// The same language again replaces the track, at a new URL.
	oldPath := a.Output.Subtitles[0].Path
	en2 := []byte(testVTT + "\n00:00:02.000 --> 00:00:03.000\nAgain\n")
	a, err = e.svc.AddSubtitle(e.ctx, id, catalog.AssetSubtitle{Language: "en", Label: "English"}, en2)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Output.Subtitles) != 2 {
		t.Fatalf("subtitles %+v after replacing en", a.Output.Subtitles)
	}
	e.checkSubtitleListed(a, "en", en2)
	for _, m := range []string{"manifest.mpd", "subs/en.m3u8"} {
		if data := string(e.object(Prefix(id) + "/" + m)); strings.Contains(data, strings.TrimPrefix(oldPath, "subs/")) {
			t.Errorf("%s still names the replaced %s", m, oldPath)
		}
	}
	if _, err := e.store.Open(e.ctx, Prefix(id)+"/"+oldPath); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the replaced %s is still stored (%v)", oldPath, err)
	}
	if got, _ := e.cat.GetAsset(e.ctx, id); got.Status != catalog.AssetReady || len(got.Output.Subtitles) != 2 {
		t.Errorf("asset after the subtitles: %s, %+v", got.Status, got.Output.Subtitles)
	}
}

// TestAddSubtitleBeforeReady adds tracks to an asset while it is being
// processed and to one still queued behind it: both are listed once ready.
func TestAddSubtitleBeforeReady(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	ffprobe := writeScript(t, dir, "ffprobe.sh", `while [ ! -e '`+gate+`' ]; do sleep 0.05; done
exec `+realFFprobe+` "$@"
`)
	e := newEnv(t, envOptions{ffprobe: ffprobe})
	e.start()
	t.Cleanup(func() { touch(t, gate) }) // never leave a probe waiting

	processing := e.create(makeClip(t, dir, "first.mp4", 3)).ID
	e.waitAsset(processing, 10*time.Second, "processing", func(a catalog.Asset) bool {
		return a.Status == catalog.AssetProcessing
	})
	queued := e.create(makeClip(t, dir, "second.mp4", 3)).ID

	fr := []byte(testVTT + "\n00:00:02.000 --> 00:00:03.000\nBonjour\n")
	a, err := e.svc.AddSubtitle(e.ctx, processing, catalog.AssetSubtitle{Language: "fr", Label: "Français"}, fr)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != catalog.AssetProcessing || len(a.Output.Subtitles) != 1 {
		t.Fatalf("asset %s, subtitles %+v", a.Status, a.Output.Subtitles)
	}
	de := []byte(testVTT + "\n00:00:02.000 --> 00:00:03.000\nHallo\n")
	b, err := e.svc.AddSubtitle(e.ctx, queued, catalog.AssetSubtitle{Language: "de"}, de)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != catalog.AssetQueued || len(b.Output.Subtitles) != 1 {
		t.Fatalf("asset %s, subtitles %+v", b.Status, b.Output.Subtitles)
	}
	if got := e.files(Prefix(queued)); len(got) != 0 {
		t.Errorf("a queued asset has outputs: %v", got)
	}

	touch(t, gate)
	for _, c := range []struct {
		id, lang string
		vtt      []byte
	}{{processing, "fr", fr}, {queued, "de", de}} {
		a := e.waitDone(c.id)
		if a.Status != catalog.AssetReady {
			t.Fatalf("%s: status %s, error %q", c.lang, a.Status, a.Error)
		}
		if len(a.Output.Subtitles) != 1 || len(a.Output.Renditions) != 3 || a.Output.Poster == "" {
			t.Errorf("%s: output %+v", c.lang, a.Output)
		}
		e.checkSubtitleListed(a, c.lang, c.vtt)
	}
}

// TestAddSubtitleWhilePublishing adds a track at the worst moment: after
// the pipeline has published the asset's manifests with the tracks it
// knew, before it marks the asset ready. The track must be listed in the
// manifests of the ready asset all the same.
func TestAddSubtitleWhilePublishing(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, envOptions{})
	en := []byte(testVTT + "\n00:00:01.000 --> 00:00:02.000\nHello\n")
	var (
		fired atomic.Bool
		added = make(chan error, 1)
	)
	e.cat.afterUpdate = func(a catalog.Asset) { // the test's only asset
		if a.Stage == "publish" && fired.CompareAndSwap(false, true) {
			_, err := e.svc.AddSubtitle(e.ctx, a.ID, catalog.AssetSubtitle{Language: "en", Label: "English"}, en)
			added <- err
		}
	}
	clip := makeClip(t, dir, "clip.mp4", 2)
	e.start()
	a := e.waitDone(e.create(clip).ID)
	if err := <-added; err != nil {
		t.Fatalf("AddSubtitle: %v", err)
	}
	if a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}
	e.checkSubtitleListed(a, "en", en)
}
