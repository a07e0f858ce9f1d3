// Package catalogtest is the conformance suite for catalog.Store
// implementations: the SQLite catalog runs it, and so must any other backend.
//
// RunAll is the suite for a backend; Run is its channel part alone.
//
// Beyond the interface's comments, the suite pins down behaviour callers rely on:
//   - times come back in UTC, equal to what was stored at microsecond precision;
//     CreateChannel fills a zero CreatedAt with now and a zero UpdatedAt with CreatedAt;
//   - a taken ID, name or stream key is ErrConflict, and nothing is written;
//   - an empty ID, name or stream key is an error that is neither ErrConflict nor ErrNotFound;
//   - stream keys and names match exactly (case-sensitive, no prefix match);
//   - ListChannels returns a non-nil slice ordered by CreatedAt, then ID;
//   - DeleteChannel and SetStreamKey on a missing ID are ErrNotFound;
//   - SetStreamKey keeps CreatedAt and moves UpdatedAt to now;
//   - DVRWindow (to the nanosecond) and Record are stored and returned as
//     given; UpdateChannel writes Name, DVRWindow and Record only, moves
//     UpdatedAt to now, returns fn's error itself (nothing written), never
//     calls fn for a missing channel, and a taken name is ErrConflict;
//   - writes are visible to reads that start after they return, from any goroutine;
//   - Close is idempotent, and Ping fails after it;
//   - CreateAsset fills a zero CreatedAt with now, a zero UpdatedAt with
//     CreatedAt and an empty Status with queued; also runs once, inside the
//     insert's transaction, and its error is returned as is after rollback;
//   - ListAssets pages newest first (CreatedAt, then ID, descending) with a
//     stable cursor, returns non-nil Items, and rejects a malformed cursor;
//   - UpdateAsset returns fn's error itself, never calls fn for a missing
//     asset, and serializes concurrent updates without losing any;
//   - webhooks list oldest first with Events as stored; deliveries list
//     newest first; AddDelivery to a missing webhook is ErrNotFound, and
//     DeleteWebhook removes the delivery log.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// Options are the backend-specific parts of the suite.
type Options struct {
	// WriteInTx, if set, creates ch using the transaction CreateAsset hands
	// to its also callback (as a job queue would insert its job). The suite
	// then checks the write commits and rolls back with the asset.
	WriteInTx func(ctx context.Context, tx catalog.Tx, ch catalog.Channel) error
}

type testCase struct {
	name string
	fn   func(t *testing.T, s catalog.Store)
}

// RunAll runs the whole suite: channels, assets and webhooks. Every
// catalog.Store backend runs it. open must return a new, empty Store each
// time it is called and arrange (with t.Cleanup) for it to be closed; the
// suite may close it first, since Close is idempotent. Subtests do not run
// in parallel.
func RunAll(t *testing.T, open func(t *testing.T) catalog.Store, opts Options) {
	run(t, open, channelCases())
	run(t, open, assetCases(opts))
	run(t, open, webhookCases())
}

// Run runs only the channel part of the suite, for fakes that implement
// only the channel methods (such as the API tests' in-memory catalog).
// A real backend runs RunAll.
func Run(t *testing.T, open func(t *testing.T) catalog.Store) {
	run(t, open, channelCases())
}

func run(t *testing.T, open func(t *testing.T) catalog.Store, tests []testCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func channelCases() []testCase {
	return []testCase{
		{"CreateGet", testCreateGet},
		{"CreateDefaultsTimes", testCreateDefaultsTimes},
		{"CreateConflict", testCreateConflict},
		{"CreateInvalid", testCreateInvalid},
		{"GetMissing", testGetMissing},
		{"ChannelByStreamKey", testChannelByStreamKey},
		{"ListChannels", testListChannels},
		{"DeleteChannel", testDeleteChannel},
		{"SetStreamKey", testSetStreamKey},
		{"SetStreamKeyConflict", testSetStreamKeyConflict},
		{"UpdateChannel", testUpdateChannel},
		{"UpdateChannelConflict", testUpdateChannelConflict},
		{"ConcurrentCreates", testConcurrentCreates},
		{"CanceledContext", testCanceledContext},
		{"PingClose", testPingClose},
	}
}

func assetCases(opts Options) []testCase {
	withOpts := func(fn func(*testing.T, catalog.Store, Options)) func(*testing.T, catalog.Store) {
		return func(t *testing.T, s catalog.Store) { fn(t, s, opts) }
	}
	return []testCase{
		{"AssetCreateGet", testAssetCreateGet},
		{"AssetCreateDefaults", testAssetCreateDefaults},
		{"AssetCreateErrors", testAssetCreateErrors},
		{"AssetAlsoRollback", withOpts(testAssetAlsoRollback)},
		{"AssetAlsoCommits", withOpts(testAssetAlsoCommits)},
		{"UpdateAsset", testUpdateAsset},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"DeleteAsset", testDeleteAsset},
		{"ListAssetsEmpty", testListAssetsEmpty},
		{"ListAssetsPaging", testListAssetsPaging},
		{"ListAssetsMaxPage", testListAssetsMaxPage},
		{"ListAssetsFilters", testListAssetsFilters},
	}
}

func webhookCases() []testCase {
	return []testCase{
		{"Webhooks", testWebhooks},
		{"Deliveries", testDeliveries},
	}
}

// base is a fixed time with microseconds, so stored values compare exactly.
var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

// channel returns a distinct, valid channel for index i.
func channel(i int) catalog.Channel {
	return catalog.Channel{
		ID:        fmt.Sprintf("ch_test%03d", i),
		Name:      fmt.Sprintf("Studio %d", i),
		StreamKey: fmt.Sprintf("sk_secret%03dabcdefghijklmnop", i),
		CreatedAt: base.Add(time.Duration(i) * time.Second),
		UpdatedAt: base.Add(time.Duration(i)*time.Second + time.Millisecond),
		// Odd channels have their own DVR window and record their sessions.
		DVRWindow: time.Duration(i%2) * (90*time.Minute + 1),
		Record:    i%2 == 1,
	}
}

func create(t *testing.T, s catalog.Store, ch catalog.Channel) {
	t.Helper()
	if err := s.CreateChannel(context.Background(), ch); err != nil {
		t.Fatalf("CreateChannel(%q): %v", ch.ID, err)
	}
}

func get(t *testing.T, s catalog.Store, id string) catalog.Channel {
	t.Helper()
	ch, err := s.GetChannel(context.Background(), id)
	if err != nil {
		t.Fatalf("GetChannel(%q): %v", id, err)
	}
	return ch
}

// sameChannel fails unless got equals want, times included, in UTC.
func sameChannel(t *testing.T, what string, got, want catalog.Channel) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.StreamKey != want.StreamKey ||
		got.DVRWindow != want.DVRWindow || got.Record != want.Record ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("%s times are not UTC: %v, %v", what, got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

func count(t *testing.T, s catalog.Store) int {
	t.Helper()
	list, err := s.ListChannels(context.Background())
	if err != nil {
		t.Fatalf("ListChannels: %v", err)
	}
	return len(list)
}
