package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/intake"
)

// fakeVOD records calls and keeps assets in a real catalog, as the VoD
// pipeline does, without processing anything.
type fakeVOD struct {
	cat catalog.Store

	mu        sync.Mutex
	created   []receivedSource
	cancelled []string
	deleted   []string
	subtitles []string // asset/language
	imports   []string // full source URLs given to ImportURL
	createErr error
	// checkURL, when set, refuses URLs as the real VOD's fetcher does.
	checkURL func(string) error
}

type receivedSource struct {
	File intake.File
	Data []byte
}

func (v *fakeVOD) CreateAsset(ctx context.Context, f intake.File) (catalog.Asset, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return catalog.Asset{}, err
	}
	v.mu.Lock()
	if v.createErr != nil {
		v.mu.Unlock()
		return catalog.Asset{}, v.createErr // the file stays the caller's
	}
	_ = os.Remove(f.Path) // moved into "storage"
	v.created = append(v.created, receivedSource{File: f, Data: data})
	n := len(v.created)
	v.mu.Unlock()
	title := f.Title
	if title == "" {
		title = "Untitled"
	}
	at := t0.Add(time.Duration(n) * time.Second)
	a := catalog.Asset{
		ID:     fmt.Sprintf("as_%016d", n),
		Title:  title,
		Status: catalog.AssetQueued,
		Source: catalog.AssetSource{
			Filename: f.Filename, Size: f.Size, Origin: f.Origin, URL: f.URL,
			Key: fmt.Sprintf("sources/as_%016d/source", n),
		},
		UploadID:  f.UploadID,
		CreatedAt: at,
		UpdatedAt: at,
	}
	if err := v.cat.CreateAsset(ctx, a, nil); err != nil {
		return catalog.Asset{}, err
	}
	return v.cat.GetAsset(ctx, a.ID)
}

// ImportURL creates an importing asset, as the real VOD does before its
// job downloads the source.
func (v *fakeVOD) ImportURL(ctx context.Context, rawURL, title string, priority int) (catalog.Asset, error) {
	if v.checkURL != nil {
		if err := v.checkURL(rawURL); err != nil {
			return catalog.Asset{}, err
		}
	}
	v.mu.Lock()
	v.imports = append(v.imports, rawURL)
	n := len(v.imports)
	v.mu.Unlock()
	if title == "" {
		title = "Untitled"
	}
	at := t0.Add(time.Duration(n) * time.Second)
	a := catalog.Asset{
		ID: fmt.Sprintf("as_imp%013d", n), Title: title, Status: catalog.AssetImporting, Stage: "download",
		Source:    catalog.AssetSource{Origin: "url", URL: intake.RedactURL(rawURL)},
		CreatedAt: at, UpdatedAt: at,
	}
	if err := v.cat.CreateAsset(ctx, a, nil); err != nil {
		return catalog.Asset{}, err
	}
	return v.cat.GetAsset(ctx, a.ID)
}

func (v *fakeVOD) Cancel(ctx context.Context, id string) (catalog.Asset, error) {
	v.mu.Lock()
	v.cancelled = append(v.cancelled, id)
	v.mu.Unlock()
	return v.cat.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		if a.Status == catalog.AssetQueued || a.Status == catalog.AssetProcessing {
			a.Status, a.Stage, a.Error = catalog.AssetFailed, "", "cancelled"
		}
		return nil
	})
}

func (v *fakeVOD) Delete(ctx context.Context, id string) error {
	if _, err := v.cat.GetAsset(ctx, id); err != nil {
		return fmt.Errorf("vod: deleting %s: %w", id, err)
	}
	v.mu.Lock()
	v.deleted = append(v.deleted, id)
	v.mu.Unlock()
	return v.cat.DeleteAsset(ctx, id)
}

func (v *fakeVOD) AddSubtitle(ctx context.Context, id string, s catalog.AssetSubtitle, vtt []byte) (catalog.Asset, error) {
	v.mu.Lock()
	v.subtitles = append(v.subtitles, id+"/"+s.Language)
	v.mu.Unlock()
	s.Name = s.Language
	s.Path = "subs/" + s.Name + ".vtt"
	return v.cat.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		a.Output.Subtitles = append(a.Output.Subtitles, s)
		return nil
	})
}

func (v *fakeVOD) sources() []receivedSource {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.created)
}

// assetEnv is an API over a real SQLite catalog and real intake, with a
// fake VOD.
type assetEnv struct {
	*testEnv
	cat     *sqlite.Store
	vod     *fakeVOD
	intake  *intake.Service
	dataDir string
}

func newAssetEnv(t *testing.T, modifyIntake func(*intake.Config), modify ...func(*Deps)) *assetEnv {
	t.Helper()
	dir := t.TempDir()
	cat, err := sqlite.Open(context.Background(), filepath.Join(dir, "catalog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	vod := &fakeVOD{cat: cat}
	cfg := intake.Config{DataDir: dir, MaxSize: 1 << 20, Creator: vod}
	if modifyIntake != nil {
		modifyIntake(&cfg)
	}
	in, err := intake.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	vod.checkURL = in.CheckURL
	deps := Deps{Catalog: cat, VOD: vod, Intake: in, AdminToken: testToken, Now: func() time.Time { return t0 }}
	for _, m := range modify {
		m(&deps)
	}
	return &assetEnv{testEnv: &testEnv{api: New(deps)}, cat: cat, vod: vod, intake: in, dataDir: dir}
}
