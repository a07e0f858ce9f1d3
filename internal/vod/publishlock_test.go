package vod

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// TestPublishLocksOneAsset: while the pipeline publishes one asset (held up
// here inside its ready update, under the asset's lock), a subtitle can be
// added to another asset.
func TestPublishLocksOneAsset(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.cat.CreateAsset(e.ctx, catalog.Asset{ID: "as_other", Title: "other", Status: catalog.AssetProcessing}, nil); err != nil {
		t.Fatal(err)
	}
	var (
		held    = make(chan string, 1)
		release = make(chan struct{})
		fired   atomic.Bool
	)
	e.cat.afterUpdate = func(a catalog.Asset) {
		if a.Status == catalog.AssetReady && fired.CompareAndSwap(false, true) {
			held <- a.ID
			<-release
		}
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	e.start()
	id := e.create(makeClip(t, t.TempDir(), "clip.mp4", 2)).ID
	if got := <-held; got != id {
		t.Fatalf("held %s, want %s", got, id)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.AddSubtitle(context.WithoutCancel(e.ctx), "as_other", catalog.AssetSubtitle{Language: "en"}, []byte(testVTT))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("AddSubtitle: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AddSubtitle of another asset waited for the publication")
	}
	close(release)
	if a := e.waitDone(id); a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}
}
