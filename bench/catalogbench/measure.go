package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// scenario is one kind of GET /api/v1/assets request.
type scenario struct {
	name string
	// query returns the query string of the i-th request ("" for none).
	query func(i int) string
	// check validates a decoded answer to query(i).
	check func(i int, l list) error
	// filter is the catalog.AssetFilter the API makes of query(i), to time
	// the store's ListAssets alone.
	filter func(i int) catalog.AssetFilter
	// distinct is how many different queries it makes (0 means 1): verify
	// checks each.
	distinct int
	// fewer divides the requests of a run (0 means 1), for the expensive
	// largest page.
	fewer int
}

// list is the part of the API's asset list the checks read.
type list struct {
	Items []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		UploadID string `json:"upload_id"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// sample is one measured run of N requests.
type sample struct {
	p50, p99 time.Duration
	rps      float64
	bytes    int64         // size of one answer (the first)
	store    time.Duration // median of ListAssets alone, one call at a time (sequential runs only)
}

// storeTime returns the median time of n ListAssets calls for sc, made
// directly on the store one after another.
func storeTime(ctx context.Context, s catalog.Store, sc scenario, n int) (time.Duration, error) {
	lat := make([]time.Duration, n)
	for i := range n {
		t := time.Now()
		if _, err := s.ListAssets(ctx, sc.filter(i)); err != nil {
			return 0, fmt.Errorf("ListAssets: %w", err)
		}
		lat[i] = time.Since(t)
	}
	slices.Sort(lat)
	return percentile(lat, 0.5), nil
}

// client sends authenticated requests to one backend's API.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string, conns int) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	return &client{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// get fetches /api/v1/assets?query and returns the body; any status but
// 200 is an error.
func (c *client) get(ctx context.Context, query string) ([]byte, error) {
	u := c.base + "/api/v1/assets"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, body)
	}
	return body, nil
}

// getList is get with the answer decoded.
func (c *client) getList(ctx context.Context, query string) (list, error) {
	body, err := c.get(ctx, query)
	if err != nil {
		return list{}, err
	}
	var l list
	if err := json.Unmarshal(body, &l); err != nil {
		return list{}, fmt.Errorf("GET ?%s: decoding: %w", query, err)
	}
	return l, nil
}

// verify sends each of a scenario's distinct requests and checks the
// answers.
func (c *client) verify(ctx context.Context, scs []scenario) error {
	for _, sc := range scs {
		for i := range max(1, sc.distinct) {
			l, err := c.getList(ctx, sc.query(i))
			if err != nil {
				return err
			}
			if err := sc.check(i, l); err != nil {
				return fmt.Errorf("%s (?%s): %w", sc.name, sc.query(i), err)
			}
		}
	}
	return nil
}

// run sends n requests of sc from conns goroutines (after warm-up
// requests) and returns their latency percentiles and throughput.
func (c *client) run(ctx context.Context, sc scenario, n, conns, warmup int) (sample, error) {
	first, err := c.get(ctx, sc.query(0))
	if err != nil {
		return sample{}, err
	}
	for i := range warmup {
		if _, err := c.get(ctx, sc.query(i)); err != nil {
			return sample{}, err
		}
	}
	lat := make([]time.Duration, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if _, err := c.get(ctx, sc.query(i)); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return sample{}, firstErr
	}
	slices.Sort(lat)
	return sample{p50: percentile(lat, 0.50), p99: percentile(lat, 0.99), rps: float64(n) / wall.Seconds(), bytes: int64(len(first))}, nil
}

// percentile is the nearest-rank q-quantile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// deepCursor walks the list through next_cursor, walkLimit assets a page,
// until at least 9/10 of the catalog is behind it, checking every page
// against idx. It returns the cursor there, how many assets precede it,
// the pages walked and the time taken.
func (c *client) deepCursor(ctx context.Context, idx *catalogIndex, walkLimit int) (cursor string, pos, pages int, took time.Duration, err error) {
	target := len(idx.all) * 9 / 10
	start := time.Now()
	for pos < target {
		q := url.Values{"limit": {strconv.Itoa(walkLimit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		l, err := c.getList(ctx, q.Encode())
		if err != nil {
			return "", 0, 0, 0, err
		}
		pages++
		for k, it := range l.Items {
			if pos+k >= len(idx.all) || it.ID != idx.all[pos+k].id {
				return "", 0, 0, 0, fmt.Errorf("walking pages: item %d is %s, want %s", pos+k, it.ID, idx.all[min(pos+k, len(idx.all)-1)].id)
			}
		}
		pos += len(l.Items)
		if l.NextCursor == "" {
			return "", 0, 0, 0, fmt.Errorf("walking pages: list ended after %d of %d assets", pos, len(idx.all))
		}
		cursor = l.NextCursor
	}
	return cursor, pos, pages, time.Since(start), nil
}

// scenarios builds the measured requests for a catalog: the first page,
// the page after cursor (pos assets deep), a status filter, an upload_id
// lookup and the largest page.
func scenarios(idx *catalogIndex, cursor string, pos int) []scenario {
	const page = 50 // the API's default limit
	wantIDs := func(want []record) func(int, list) error {
		return func(_ int, l list) error {
			if len(l.Items) != len(want) {
				return fmt.Errorf("%d items, want %d", len(l.Items), len(want))
			}
			for k, it := range l.Items {
				if it.ID != want[k].id {
					return fmt.Errorf("item %d is %s, want %s", k, it.ID, want[k].id)
				}
			}
			return nil
		}
	}
	failed := filter(idx.all, func(r record) bool { return r.status == catalog.AssetFailed })
	// Upload IDs spread over the whole catalog, requested in turn.
	var uploads []record
	if len(idx.uploads) > 0 {
		step := max(1, len(idx.uploads)/100)
		for i := 0; i < len(idx.uploads); i += step {
			id := idx.uploads[i]
			uploads = append(uploads, filter(idx.all, func(r record) bool { return r.uploadID == id })...)
		}
	}
	fixed := func(f catalog.AssetFilter) func(int) catalog.AssetFilter {
		return func(int) catalog.AssetFilter { return f }
	}
	scs := []scenario{
		{name: "first page", query: func(int) string { return "" }, check: wantIDs(head(idx.all, page)), filter: fixed(catalog.AssetFilter{})},
		{
			name:   fmt.Sprintf("deep page (after %d assets, through cursors)", pos),
			query:  func(int) string { return url.Values{"cursor": {cursor}}.Encode() },
			check:  wantIDs(head(idx.all[pos:], page)),
			filter: fixed(catalog.AssetFilter{After: cursor}),
		},
		{
			name: "status=failed", query: func(int) string { return "status=failed" }, check: wantIDs(head(failed, page)),
			filter: fixed(catalog.AssetFilter{Status: catalog.AssetFailed}),
		},
		{
			name: "limit=500", query: func(int) string { return "limit=500" }, check: wantIDs(head(idx.all, 500)),
			filter: fixed(catalog.AssetFilter{Limit: 500}), fewer: 4,
		},
	}
	if len(uploads) > 0 {
		scs = slices.Insert(scs, 3, scenario{
			name:  "upload_id=…",
			query: func(i int) string { return url.Values{"upload_id": {uploads[i%len(uploads)].uploadID}}.Encode() },
			check: func(i int, l list) error { return wantIDs(uploads[i%len(uploads):i%len(uploads)+1])(i, l) },
			filter: func(i int) catalog.AssetFilter {
				return catalog.AssetFilter{UploadID: uploads[i%len(uploads)].uploadID}
			},
			distinct: len(uploads),
		})
	}
	return scs
}

func head(r []record, n int) []record { return r[:min(n, len(r))] }

func filter(r []record, keep func(record) bool) []record {
	var out []record
	for _, x := range r {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
