package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 1 << 20, MaxMemoryObject: 8 << 10, Dir: dir, DiskBytes: 4 << 20}
	c := openTest(t, cfg, nil)
	var metas []Meta
	for i := range 10 {
		size := 100 + i*3000 // some fit memory, some do not
		m := newMeta(fmt.Sprintf("/vod/r/%d", i), size, time.Now().Add(-time.Duration(i)*time.Second))
		m.Header.Add("X-Index", fmt.Sprint(i))
		metas = append(metas, m)
		c.Put(m, bodyOf(uint64(i), size))
	}
	c.Flush()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	files := diskFiles(t, dir)
	if len(files) != 10 {
		t.Fatalf("%d files after Close, want 10", len(files))
	}

	// Debris: a temp file from a crashed write, a corrupt entry with a valid
	// name, a truncated copy of a valid entry, a file with a foreign name.
	var valid string
	for p := range files {
		valid = p
		break
	}
	data, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	hash := filepath.Base(valid)[:64]
	debris := map[string][]byte{
		filepath.Join(dir, tmpDirName, "w-123"):                                              data,
		filepath.Join(filepath.Dir(valid), hash+"-00000000000000aa"+fileExt):                 []byte("OSPC garbage garbage garbage"),
		filepath.Join(filepath.Dir(valid), hash+"-00000000000000bb"+fileExt):                 data[:len(data)-1],
		filepath.Join(dir, "zz", "stray.bin"):                                                []byte("stray"),
		filepath.Join(dir, hash[:2], hash[2:4], "ffff"+hash[4:]+"-0000000000000001"+fileExt): data, // key does not match the name
	}
	for p, b := range debris {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	c2 := openTest(t, Config{Dir: dir, DiskBytes: 4 << 20}, nil)
	for p := range debris {
		if _, err := os.Stat(p); !isNotExist(err) {
			t.Errorf("%s survives Open (stat: %v)", p, err)
		}
	}
	for i, m := range metas {
		e := assertHit(t, c2, m, bodyOf(uint64(i), int(m.Size)))
		if e.Tier != TierDisk {
			t.Errorf("%s: tier %v, want disk", m.Key, e.Tier)
		}
	}
	s := c2.Stats()
	var sum int64
	for _, size := range diskFiles(t, dir) {
		sum += size
	}
	if s.DiskObjects != 10 || s.DiskBytes != sum {
		t.Errorf("after restart: %d objects, %d bytes; want 10 and %d", s.DiskObjects, s.DiskBytes, sum)
	}
}

func TestRestartDropsExpired(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock()
	c := openTest(t, Config{Dir: dir, DiskBytes: 1 << 20}, clk)
	short := newMeta("/short", 10, clk.Now())
	short.Fresh, short.StaleIfError, short.StaleWhileRevalidate, short.InitialAge = 5*time.Second, 0, 0, 0
	long := newMeta("/long", 10, clk.Now())
	c.Put(short, bodyOf(1, 10))
	c.Put(long, bodyOf(2, 10))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	c2 := openTest(t, Config{Dir: dir, DiskBytes: 1 << 20}, clk)
	if _, ok := c2.Get("/short"); ok {
		t.Error("entry past Keep found after restart")
	}
	assertHit(t, c2, long, bodyOf(2, 10))
	if keys := diskKeys(t, dir); len(keys) != 1 || !keys["/long"] {
		t.Errorf("files on disk for %v, want /long only", keys)
	}
}
