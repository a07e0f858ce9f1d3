package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	const ok = "Running 5s test @ http://127.0.0.1:1\n" +
		"ORIGINBENCH requests=2000 duration_us=5000000 bytes=2097152000 p50_us=1500 p99_us=9000 errors=3\n"
	tests := []struct {
		name    string
		out     string
		wantErr bool
		rps     float64
		p99     time.Duration
		errors  int64
	}{
		{name: "summary", out: ok, rps: 400, p99: 9 * time.Millisecond, errors: 3},
		{name: "no summary line", out: "Running 5s test\n", wantErr: true},
		{name: "no requests", out: "ORIGINBENCH requests=0 duration_us=5000000\n", wantErr: true},
		{name: "bad number", out: "ORIGINBENCH requests=x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := parseWrk(tt.out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.RPS() != tt.rps || r.P99 != tt.p99 || r.Errors != tt.errors || r.P50 != 1500*time.Microsecond {
				t.Errorf("got %.0f req/s, p50 %s, p99 %s, %d errors; want %.0f, 1.5ms, %s, %d", r.RPS(), r.P50, r.P99, r.Errors, tt.rps, tt.p99, tt.errors)
			}
		})
	}
}

// TestVariantsServeTheSegments sets up the three variants (versitygw
// included) with small segments and checks that each serves every one
// byte for byte, and that the cache then holds them all.
func TestVariantsServeTheSegments(t *testing.T) {
	b, err := setup(opts{segments: 4, segmentSize: 200_000, cacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	for _, v := range b.variants {
		if err := b.check(v); err != nil {
			t.Fatal(err)
		}
	}
	st := b.variant(nameS3Cache).cache.Stats()
	if st.Entries != 4 || st.Loads != 4 || st.Hits != 0 {
		t.Fatalf("cache after one pass: %+v, want 4 entries from 4 loads", st)
	}
	if err := b.check(b.variant(nameS3Cache)); err != nil {
		t.Fatal(err)
	}
	if st := b.variant(nameS3Cache).cache.Stats(); st.Hits != 4 || st.Loads != 4 {
		t.Fatalf("cache after a second pass: %+v, want 4 hits and no more loads", st)
	}
}
