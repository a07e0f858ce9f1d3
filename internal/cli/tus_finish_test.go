package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestAssetUploadRetriesAssetCreation: the server received the whole file
// but failed to create its asset (it keeps the upload); the CLI asks again
// with an empty PATCH at the full offset until the asset exists.
func TestAssetUploadRetriesAssetCreation(t *testing.T) {
	s := newTusServer(t)
	s.mu.Lock()
	s.failCreate = 2
	s.mu.Unlock()
	file, _, data := uploadEnv(t, mib+5)
	r := s.asset(context.Background(), "upload", file)
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("upload: %+v", r)
	}
	s.check(t)
	if got := s.uploadedData(t, "as_test1"); !bytes.Equal(got, data) {
		t.Fatal("the server's bytes differ from the file's")
	}
	if _, received := s.stats(); received != int64(len(data)) {
		t.Errorf("%d bytes received for a file of %d: the retries sent data again", received, len(data))
	}
	if !strings.Contains(r.stderr, "creating its asset failed") {
		t.Errorf("stderr does not show the failed creation:\n%s", r.stderr)
	}
}
