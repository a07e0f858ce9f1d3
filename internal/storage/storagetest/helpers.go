package storagetest

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Put stores data under key or fails the test.
func Put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// open opens key, closing it at cleanup, or fails the test.
func open(t *testing.T, s storage.Store, key string) storage.Object {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	t.Cleanup(func() { _ = obj.Close() })
	return obj
}

// Read opens key and reads it whole, or fails the test.
func Read(t *testing.T, s storage.Store, key string) ([]byte, storage.Info) {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return data, obj.Info()
}

// WantMissing fails the test unless Open(key) wraps storage.ErrNotFound.
func WantMissing(t *testing.T, s storage.Store, key string) {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err == nil {
		_ = obj.Close()
		t.Errorf("Open(%q) succeeded, want ErrNotFound", key)
		return
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open(%q) = %v, want an error wrapping ErrNotFound", key, err)
	}
}

// wantPresent fails the test unless key holds exactly want.
func wantPresent(t *testing.T, s storage.Store, key string, want []byte) {
	t.Helper()
	got, _ := Read(t, s, key)
	if string(got) != string(want) {
		t.Errorf("%q holds %d bytes %.20q, want %d bytes %.20q", key, len(got), got, len(want), want)
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}
