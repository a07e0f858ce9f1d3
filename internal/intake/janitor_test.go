package intake

import (
	"context"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// age sets a file's modification time to d ago.
func age(t *testing.T, p string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func TestJanitorRemovesAbandonedUploads(t *testing.T) {
	t.Parallel()
	s, _, c := newTusServer(t, func(c *Config) { c.UploadExpiry = time.Hour })
	dir := uploadsDir(s)

	// A tus upload abandoned half-way, two days ago.
	old := path.Base(c.create(10, nil))
	wantStatus(t, c.patch(c.base+UploadsPath+old, 0, []byte("abcde")), http.StatusNoContent, "PATCH")
	age(t, filepath.Join(dir, old), 48*time.Hour)
	age(t, filepath.Join(dir, old+".info"), 48*time.Hour)
	// One whose data is old but whose sidecar was written recently: alive.
	recent := path.Base(c.create(10, nil))
	age(t, filepath.Join(dir, recent), 48*time.Hour)
	// A *.part that kill -9 left, and one being written now.
	writeFile(t, filepath.Join(dir, "multipart-123.part"), []byte("partial"))
	age(t, filepath.Join(dir, "multipart-123.part"), 2*time.Hour)
	writeFile(t, filepath.Join(dir, "url-456.part"), []byte("arriving"))
	// Folders are not the janitor's business.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	age(t, filepath.Join(dir, "sub"), 48*time.Hour)

	if n := s.CleanUploads(time.Now()); n != 2 {
		t.Errorf("CleanUploads removed %d uploads, want 2", n)
	}
	want := []string{recent, recent + ".info", "sub", "url-456.part"}
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("uploads folder holds %v, want %v", got, want)
	}
	wantStatus(t, c.do(http.MethodHead, c.base+UploadsPath+old, nil, nil), http.StatusNotFound, "HEAD of the removed upload")
	wantStatus(t, c.do(http.MethodHead, c.base+UploadsPath+recent, nil, nil), http.StatusOK, "HEAD of the live upload")
}

// TestRunJanitorAtStart checks that RunJanitor cleans at once, not only
// after its first period.
func TestRunJanitorAtStart(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, func(c *Config) { c.UploadExpiry = time.Minute; c.JanitorEvery = time.Hour })
	p := filepath.Join(uploadsDir(s), "url-1.part")
	writeFile(t, p, []byte("x"))
	age(t, p, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunJanitor(ctx)
	}()
	eventually(t, 5*time.Second, "the janitor to remove the file", func() bool {
		_, err := os.Stat(p)
		return os.IsNotExist(err)
	})
	cancel()
	<-done
}
