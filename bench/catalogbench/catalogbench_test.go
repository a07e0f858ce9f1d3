package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// TestRunSmall runs the whole benchmark on a small catalog on both
// backends: seeding, the walk to the deep cursor and the checks of every
// request kind (run fails on a wrong answer), the measurements and the
// report. It needs the PostgreSQL of the other catalog tests.
func TestRunSmall(t *testing.T) {
	pg := defaultPostgres
	if u := os.Getenv("OSPREY_TEST_POSTGRES"); u != "" {
		pg = u
	}
	if err := adminExec(context.Background(), pg, "SELECT 1"); err != nil {
		t.Fatalf("this test needs a PostgreSQL server: %v\n"+
			"Start one on 127.0.0.1:5432 whose user postgres may log in without a password (trust auth),\n"+
			"e.g. `pg_ctlcluster 15 main start` on Debian, or set OSPREY_TEST_POSTGRES to the postgres:// URL\n"+
			"of a role that may CREATE DATABASE.", err)
	}
	before := benchDatabases(t, pg)
	o := opts{assets: 600, rounds: 2, n: 8, conns: 2, warmup: 1, seed: 7, seedWorkers: 2, postgres: pg, explain: true}
	var logs bytes.Buffer
	res, err := run(context.Background(), o, &logs)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	t.Logf("run's progress:\n%s", logs.String())
	if len(res.backends) != 2 || len(res.scenarios) != 5 {
		t.Fatalf("%d backends, %d request kinds; want 2 and 5", len(res.backends), len(res.scenarios))
	}
	for _, b := range res.backends {
		if b.walkPos < o.assets*9/10 || b.walkPages < 2 {
			t.Errorf("%s: deep cursor after %d assets in %d pages; want at least %d assets over several pages", b.name, b.walkPos, b.walkPages, o.assets*9/10)
		}
		for s, modes := range b.samples {
			for m, smp := range modes {
				if len(smp) != o.rounds {
					t.Fatalf("%s %s mode %d: %d samples, want %d", b.name, res.scenarios[s], m, len(smp), o.rounds)
				}
				for _, x := range smp {
					if x.p50 <= 0 || x.p99 < x.p50 || x.rps <= 0 || x.bytes == 0 || (m == modeSequential) != (x.store > 0) {
						t.Errorf("%s %s mode %d: implausible sample %+v", b.name, res.scenarios[s], m, x)
					}
				}
			}
		}
	}
	if !strings.Contains(res.backends[0].plans, "assets_status") || !strings.Contains(res.backends[1].plans, "Index Scan") {
		t.Errorf("query plans do not show the indexes:\n%s\n%s", res.backends[0].plans, res.backends[1].plans)
	}
	var out bytes.Buffer
	res.report(&out)
	for _, want := range []string{"| first page | 1 |", "| status=failed | 2 |", "p99 PG / SQLite", "PostgreSQL query plans"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if after := benchDatabases(t, pg); !slices.Equal(before, after) {
		t.Errorf("benchmark databases before the run %v, after %v: the run's database was not dropped", before, after)
	}
}

// benchDatabases lists the server's catalogbench databases.
func benchDatabases(t *testing.T, pg string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgxConnect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'osprey_catalogbench_%' ORDER BY datname")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestGeneratorMix checks the generated catalog: deterministic for a
// seed, IDs of the catalog's shape and unique, every status present in a
// plausible share, upload IDs only on tus uploads.
func TestGeneratorMix(t *testing.T) {
	t.Parallel()
	const n = 20_000
	a, b := newGenerator(3, n), newGenerator(3, n)
	ids := map[string]bool{}
	count := map[catalog.AssetStatus]int{}
	for range n {
		x, y := a.next(), b.next()
		if x.ID != y.ID || !x.CreatedAt.Equal(y.CreatedAt) || x.Status != y.Status {
			t.Fatalf("same seed, different assets: %+v and %+v", x, y)
		}
		if len(x.ID) != len(catalog.NewID("as_")) || !strings.HasPrefix(x.ID, "as_") || ids[x.ID] {
			t.Fatalf("bad or repeated ID %q", x.ID)
		}
		ids[x.ID] = true
		count[x.Status]++
		if (x.UploadID != "") != (x.Source.Origin == "tus") {
			t.Fatalf("asset %s from %q has upload ID %q", x.ID, x.Source.Origin, x.UploadID)
		}
		if x.CreatedAt.After(epoch) || x.CreatedAt.Before(epoch.Add(-span)) {
			t.Fatalf("asset %s created at %s, outside the span", x.ID, x.CreatedAt)
		}
		if x.Status == catalog.AssetReady && (x.ReadyAt.IsZero() || len(x.Output.Renditions) == 0) {
			t.Fatalf("ready asset %s without ready time or renditions", x.ID)
		}
	}
	for st, share := range map[catalog.AssetStatus][2]float64{
		catalog.AssetReady: {0.85, 0.97}, catalog.AssetFailed: {0.04, 0.08},
		catalog.AssetProcessing: {0.0005, 0.02}, catalog.AssetQueued: {0.0005, 0.02}, catalog.AssetImporting: {0.00005, 0.01},
	} {
		if got := float64(count[st]) / n; got < share[0] || got > share[1] {
			t.Errorf("%s: %.4f of the assets, want %.4f to %.4f", st, got, share[0], share[1])
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 0.5, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
			}
		})
	}
}
