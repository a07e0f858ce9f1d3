package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/postgres"
)

// record is what the benchmark remembers of each seeded asset to pick its
// requests and check the answers.
type record struct {
	id       string
	created  time.Time
	status   catalog.AssetStatus
	uploadID string
}

// catalogIndex is the seeded catalog in ListAssets order (newest first,
// then ID descending).
type catalogIndex struct {
	all      []record
	byStatus map[catalog.AssetStatus]int
	uploads  []string // upload IDs, in seeding order
}

// newer reports whether a sorts before b in ListAssets order.
func newer(a, b record) int {
	if c := b.created.Compare(a.created); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// seed inserts n generated assets through the Store API (CreateAsset, one
// transaction each, as the API and the inbox create them) from workers
// goroutines, and returns the index of what it inserted. The same seed
// gives the same catalog on every backend.
func seed(ctx context.Context, s catalog.Store, seedValue uint64, n, workers int) (*catalogIndex, error) {
	g := newGenerator(seedValue, n)
	assets := make(chan catalog.Asset, 256)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range assets {
				if err := s.CreateAsset(ctx, a, nil); err != nil {
					errs <- fmt.Errorf("seeding asset %s: %w", a.ID, err)
					cancel()
					return
				}
			}
		}()
	}
	idx := &catalogIndex{all: make([]record, 0, n), byStatus: map[catalog.AssetStatus]int{}}
feed:
	for range n {
		a := g.next()
		select {
		case assets <- a:
		case <-ctx.Done():
			break feed
		}
		idx.all = append(idx.all, record{id: a.ID, created: a.CreatedAt, status: a.Status, uploadID: a.UploadID})
		idx.byStatus[a.Status]++
		if a.UploadID != "" {
			idx.uploads = append(idx.uploads, a.UploadID)
		}
	}
	close(assets)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	slices.SortFunc(idx.all, newer)
	return idx, nil
}

// settle brings the backend's planner statistics to where a running
// install would have them: PostgreSQL's autovacuum analyzes a table once
// 10 % of it has changed, so a real 100,000-asset catalog has been
// analyzed (and vacuumed, which index-only scans rely on); VACUUM ANALYZE
// does that now instead of whenever autovacuum wakes. catalog/sqlite
// runs PRAGMA optimize only when it closes, so the SQLite file is left as
// a first run would have it: no sqlite_stat1.
func settle(ctx context.Context, s catalog.Store) error {
	pg, ok := s.(*postgres.Store)
	if !ok {
		return nil
	}
	if _, err := pg.Pool().Exec(ctx, "VACUUM ANALYZE assets"); err != nil {
		return fmt.Errorf("VACUUM ANALYZE assets: %w", err)
	}
	return nil
}
