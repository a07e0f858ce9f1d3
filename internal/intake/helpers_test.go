package intake

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// fakeCreator records the files handed to it with their content, and then
// removes them, as the real Creator (which moves them into storage) would.
type fakeCreator struct {
	mu   sync.Mutex
	got  []createdFile
	err  error // returned instead of creating
	keep bool  // with err: leave the file in place
}

type createdFile struct {
	File File
	Data []byte
}

func (c *fakeCreator) CreateAsset(ctx context.Context, f File) (catalog.Asset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		if !c.keep {
			_ = os.Remove(f.Path)
		}
		return catalog.Asset{}, c.err
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return catalog.Asset{}, err
	}
	if err := os.Remove(f.Path); err != nil {
		return catalog.Asset{}, err
	}
	c.got = append(c.got, createdFile{File: f, Data: data})
	return catalog.Asset{ID: fmt.Sprintf("as_test%d", len(c.got))}, nil
}

func (c *fakeCreator) files() []createdFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]createdFile(nil), c.got...)
}

func (c *fakeCreator) setErr(err error, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err, c.keep = err, keep
}

func newTestService(t *testing.T, modify ...func(*Config)) (*Service, *fakeCreator) {
	t.Helper()
	fc := &fakeCreator{}
	cfg := Config{DataDir: t.TempDir(), MaxSize: 1 << 20, Creator: fc}
	for _, m := range modify {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, fc
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// wantOnlyCreated checks that exactly one file was handed over, with data.
func wantOnlyCreated(t *testing.T, fc *fakeCreator, data []byte) File {
	t.Helper()
	got := fc.files()
	if len(got) != 1 {
		t.Fatalf("Creator got %d files, want 1", len(got))
	}
	if !bytes.Equal(got[0].Data, data) {
		t.Fatalf("Creator got %d bytes that differ from the %d sent", len(got[0].Data), len(data))
	}
	if got[0].File.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", got[0].File.Size, len(data))
	}
	return got[0].File
}

// dirNames lists a folder's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// wantErrorStatus checks that err is an *Error with the status and a
// message containing part.
func wantErrorStatus(t *testing.T, err error, status int, part string) {
	t.Helper()
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("error = %v (%T), want an *intake.Error with status %d", err, err, status)
	}
	if ie.Status != status || !bytes.Contains([]byte(ie.Message), []byte(part)) {
		t.Fatalf("error = %d %q, want %d and a message containing %q", ie.Status, ie.Message, status, part)
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uploadsDir(s *Service) string { return filepath.Join(s.cfg.DataDir, "uploads") }
