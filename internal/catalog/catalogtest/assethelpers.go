package catalogtest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// asset returns a distinct, valid asset for index i with every field set.
func asset(i int) catalog.Asset {
	return catalog.Asset{
		ID:       fmt.Sprintf("as_test%04d", i),
		Title:    fmt.Sprintf("Film %d", i),
		Status:   catalog.AssetProcessing,
		Stage:    "transcode",
		Progress: 42.5,
		Attempts: 1,
		Source: catalog.AssetSource{
			Filename: fmt.Sprintf("film-%d.mov", i),
			Size:     int64(1000 + i),
			Key:      fmt.Sprintf("sources/as_test%04d/source", i),
			Origin:   "tus",
			Probe:    "h264 1920x1080 29.97fps, aac 2ch, 60.0s",
		},
		UploadID: fmt.Sprintf("up%d", i),
		JobID:    int64(10 + i),
		Duration: 60*time.Second + 123*time.Millisecond,
		Output: catalog.AssetOutput{
			Renditions: []catalog.AssetRendition{
				{Name: "720p", Kind: "video", Codec: "avc1.64001f", Width: 1280, Height: 720, Bitrate: 3_000_000},
				{Name: "audio", Kind: "audio", Codec: "mp4a.40.2", Bitrate: 128_000, Language: "en"},
			},
			Subtitles: []catalog.AssetSubtitle{{Name: "en", Language: "en", Label: "English", Path: "subs/en.vtt"}},
			Poster:    "thumbs/poster.jpg",
		},
		CreatedAt: base.Add(time.Duration(i) * time.Second),
		UpdatedAt: base.Add(time.Duration(i)*time.Second + time.Millisecond),
	}
}

func createAsset(t *testing.T, s catalog.Store, a catalog.Asset) {
	t.Helper()
	if err := s.CreateAsset(context.Background(), a, nil); err != nil {
		t.Fatalf("CreateAsset(%q): %v", a.ID, err)
	}
}

func getAsset(t *testing.T, s catalog.Store, id string) catalog.Asset {
	t.Helper()
	a, err := s.GetAsset(context.Background(), id)
	if err != nil {
		t.Fatalf("GetAsset(%q): %v", id, err)
	}
	return a
}

// sameAsset fails unless got equals want field for field, with times equal
// as instants and returned in UTC.
func sameAsset(t *testing.T, what string, got, want catalog.Asset) {
	t.Helper()
	for _, tm := range []time.Time{got.CreatedAt, got.UpdatedAt, got.ReadyAt} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Fatalf("%s: time %v is not UTC", what, tm)
		}
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !got.ReadyAt.Equal(want.ReadyAt) {
		t.Fatalf("%s: times created=%v updated=%v ready=%v, want %v %v %v", what,
			got.CreatedAt, got.UpdatedAt, got.ReadyAt, want.CreatedAt, want.UpdatedAt, want.ReadyAt)
	}
	got.CreatedAt, got.UpdatedAt, got.ReadyAt = want.CreatedAt, want.UpdatedAt, want.ReadyAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s =\n%+v\nwant\n%+v", what, got, want)
	}
}

// allAssets pages through ListAssets with f, checking each page's size.
func allAssets(t *testing.T, s catalog.Store, f catalog.AssetFilter) []catalog.Asset {
	t.Helper()
	var out []catalog.Asset
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("ListAssets does not stop paging")
		}
		page, err := s.ListAssets(context.Background(), f)
		if err != nil {
			t.Fatalf("ListAssets(%+v): %v", f, err)
		}
		if f.Limit > 0 && len(page.Items) > f.Limit {
			t.Fatalf("page of %d items, limit %d", len(page.Items), f.Limit)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		if len(page.Items) == 0 {
			t.Fatal("empty page with a next cursor")
		}
		f.After = page.NextCursor
	}
}

func assetIDs(as []catalog.Asset) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}
