package fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

func TestImportMovesTheFileAndLocalPathFindsIt(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "upload.bin")
	data := bytes.Repeat([]byte("osprey"), 10000)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, "sources/as_1/source", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the imported file is still at its old path (%v)", err)
	}
	obj, err := s.Open(ctx, "sources/as_1/source")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj)
	obj.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("imported object differs from the file")
	}
	p, err := s.LocalPath("sources/as_1/source")
	if err != nil {
		t.Fatal(err)
	}
	if onDisk, _ := os.ReadFile(p); !bytes.Equal(onDisk, data) {
		t.Fatal("LocalPath does not name the object's file")
	}
	if _, err := s.LocalPath("sources/as_2/source"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("LocalPath of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.LocalPath("sources/as_1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("LocalPath of a directory: %v, want ErrNotFound", err)
	}
	if err := s.Import(ctx, "../escape", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("Import accepted a key outside the root")
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := s.Import(ctx, "sources/as_3/source", missing); err == nil {
		t.Error("Import of a missing file succeeded")
	}
}
