package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// newestFirst sorts like ListAssets: CreatedAt, then ID, both descending.
func newestFirst(x, y catalog.Asset) int {
	if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(y.ID, x.ID)
}

func testListAssetsEmpty(t *testing.T, s catalog.Store) {
	page, err := s.ListAssets(context.Background(), catalog.AssetFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Items == nil || len(page.Items) != 0 || page.NextCursor != "" {
		t.Fatalf("empty catalog lists %#v, want no items (non-nil) and no cursor", page)
	}
}

// testListAssetsPaging pages through 120 assets, many sharing a CreatedAt,
// with an asset added mid-way: every asset appears once, in order.
func testListAssetsPaging(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	var want []catalog.Asset
	for i := range 120 {
		a := asset(i)
		a.CreatedAt = base.Add(time.Duration(i/4) * time.Second) // ties in fours
		want = append(want, a)
	}
	// Insert out of order.
	for i := range want {
		createAsset(t, s, want[(i*7)%len(want)])
	}
	slices.SortFunc(want, newestFirst)

	first, err := s.ListAssets(ctx, catalog.AssetFilter{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	// A newer asset arriving between pages must not shift later pages.
	late := asset(999)
	late.CreatedAt = base.Add(time.Hour)
	createAsset(t, s, late)
	rest := allAssets(t, s, catalog.AssetFilter{Limit: 7, After: first.NextCursor})
	got := assetIDs(append(first.Items, rest...))
	if !slices.Equal(got, assetIDs(want)) {
		t.Fatalf("paged IDs:\n%v\nwant\n%v", got, assetIDs(want))
	}
	sameAsset(t, "listed asset", first.Items[0], want[0])

	// Limit 0 is 50; a page size beyond 500 is capped; one page of 200 holds them all.
	page, err := s.ListAssets(ctx, catalog.AssetFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 50 || page.NextCursor == "" {
		t.Fatalf("default page: %d items, cursor %q; want 50 and a cursor", len(page.Items), page.NextCursor)
	}
	page, err = s.ListAssets(ctx, catalog.AssetFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 121 || page.NextCursor != "" {
		t.Fatalf("page of 200: %d items, cursor %q; want 121 and none", len(page.Items), page.NextCursor)
	}
	// An exact fit has no next page.
	page, err = s.ListAssets(ctx, catalog.AssetFilter{Limit: 121})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 121 || page.NextCursor != "" {
		t.Fatalf("page of 121: %d items, cursor %q; want 121 and none", len(page.Items), page.NextCursor)
	}

	for _, bad := range []string{"garbage!", "Zm9v", "bm90IGEgY3Vyc29y"} {
		_, err := s.ListAssets(ctx, catalog.AssetFilter{After: bad})
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("ListAssets(After: %q) = %v, want an error wrapping catalog.ErrInvalid", bad, err)
		}
	}
}

func testListAssetsMaxPage(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	for i := range 501 {
		createAsset(t, s, catalog.Asset{ID: fmt.Sprintf("as_max%04d", i), CreatedAt: base.Add(time.Duration(i) * time.Millisecond)})
	}
	page, err := s.ListAssets(ctx, catalog.AssetFilter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 500 || page.NextCursor == "" {
		t.Fatalf("Limit 10000: %d items, cursor %q; want 500 and a cursor", len(page.Items), page.NextCursor)
	}
	page, err = s.ListAssets(ctx, catalog.AssetFilter{Limit: 10_000, After: page.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != "as_max0000" || page.NextCursor != "" {
		t.Fatalf("second page %v, cursor %q; want the oldest asset alone", assetIDs(page.Items), page.NextCursor)
	}
}

func testListAssetsFilters(t *testing.T, s catalog.Store) {
	statuses := []catalog.AssetStatus{catalog.AssetQueued, catalog.AssetProcessing, catalog.AssetReady, catalog.AssetFailed}
	var all []catalog.Asset
	for i := range 24 {
		a := asset(i)
		a.Status = statuses[i%4]
		a.UploadID = []string{"", "up_a", "up_b"}[i%3]
		createAsset(t, s, a)
		all = append(all, a)
	}
	slices.SortFunc(all, newestFirst)
	tests := []catalog.AssetFilter{
		{Status: catalog.AssetReady},
		{Status: catalog.AssetFailed, Limit: 2},
		{UploadID: "up_a"},
		{UploadID: "up_b", Status: catalog.AssetQueued, Limit: 1},
		{UploadID: "up_none"},
		{Status: "deleted"},
	}
	for _, f := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", f.Status, f.UploadID, f.Limit), func(t *testing.T) {
			var want []string
			for _, a := range all {
				if (f.Status == "" || a.Status == f.Status) && (f.UploadID == "" || a.UploadID == f.UploadID) {
					want = append(want, a.ID)
				}
			}
			got := assetIDs(allAssets(t, s, f))
			if !slices.Equal(got, want) {
				t.Fatalf("ListAssets(%+v) = %v, want %v", f, got, want)
			}
		})
	}
}
