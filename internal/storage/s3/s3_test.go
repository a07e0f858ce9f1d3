package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	for _, prefix := range []string{"", "tenant/one"} {
		t.Run(fmt.Sprintf("prefix=%q", prefix), func(t *testing.T) {
			// versitygw's ETag may lag its data in a read racing an
			// overwrite (see storagetest.Options); Amazon S3's does not.
			storagetest.RunWith(t, func(t *testing.T) storage.Store { return srv.Store(t, prefix) }, storagetest.Options{ETagMayLag: true})
		})
	}
}

// TestPrefixIsolation: a Store with a prefix reads and deletes only below
// it, and its keys are the bucket's keys without the prefix.
func TestPrefixIsolation(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.NewBucket(t)
	open := func(prefix string) *s3.Store {
		cfg := srv.Config(bucket)
		cfg.Prefix = prefix
		s, err := s3.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	whole, tenant := open(""), open("/tenant/")
	if err := tenant.Put(ctx, "live/a/1.m4s", []byte("tenant")); err != nil {
		t.Fatal(err)
	}
	if err := whole.Put(ctx, "live/a/1.m4s", []byte("whole")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, whole, "tenant/live/a/1.m4s"); got != "tenant" {
		t.Errorf("the prefixed object is %q in the bucket, want %q", got, "tenant")
	}
	if err := tenant.DeletePrefix(ctx, "live/"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, whole, "live/a/1.m4s"); got != "whole" {
		t.Errorf("the prefixed store's DeletePrefix touched an object outside its prefix: %q", got)
	}
	if _, err := tenant.Open(ctx, "live/a/1.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after DeletePrefix: %v, want ErrNotFound", err)
	}
}

func TestDeletePrefixPages(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t, "p")
	s3.SetPageSize(s, 3)
	ctx := context.Background()
	for i := range 10 {
		if err := s.Put(ctx, fmt.Sprintf("live/a/%d.m4s", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "live/b/0.m4s", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePrefix(ctx, "live/a/"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := s.Open(ctx, fmt.Sprintf("live/a/%d.m4s", i)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("live/a/%d.m4s after DeletePrefix: %v", i, err)
		}
	}
	if got := read(t, s, "live/b/0.m4s"); got != "kept" {
		t.Errorf("live/b/0.m4s = %q, want kept", got)
	}
}

// TestReopenAfterReplace: a Read that must reopen the object (after a Seek
// back) fails with ErrChanged when the object was replaced since Open.
func TestReopenAfterReplace(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t, "")
	ctx := context.Background()
	v1 := bytes.Repeat([]byte{1}, 200<<10)
	if err := s.Put(ctx, "k", v1); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := io.ReadFull(obj, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	// Seeking within the unchanged object reopens it with If-Match.
	if _, err := obj.Seek(150<<10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(obj, make([]byte, 10)); err != nil {
		t.Fatalf("reading after a seek of the unchanged object: %v", err)
	}
	if err := s.Put(ctx, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	n, err := obj.Read(make([]byte, 10))
	if !errors.Is(err, s3.ErrChanged) {
		t.Fatalf("Read after the object was replaced = %d, %v; want ErrChanged", n, err)
	}
	if err := obj.Close(); err != nil {
		t.Fatal(err)
	}
	if err := obj.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInvalidKeys(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t, "")
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "a//b", "a/../b", "./a", "a/.", `a\b`, "a\x00b"} {
		if err := s.Put(ctx, key, []byte("x")); !errors.Is(err, s3.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, s3.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if err := s.DeletePrefix(ctx, ""); !errors.Is(err, s3.ErrInvalidKey) {
		t.Errorf(`DeletePrefix("") = %v, want ErrInvalidKey`, err)
	}
}

func read(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(b)
}
