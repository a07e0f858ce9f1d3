package catalogtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func testCreateGet(t *testing.T, s catalog.Store) {
	want := channel(1)
	create(t, s, want)
	sameChannel(t, "GetChannel", get(t, s, want.ID), want)

	// Non-UTC input is stored as the same instant and returned in UTC.
	other := channel(2)
	other.CreatedAt = other.CreatedAt.In(time.FixedZone("UTC+5", 5*3600))
	create(t, s, other)
	other.CreatedAt = other.CreatedAt.UTC()
	sameChannel(t, "GetChannel (zoned input)", get(t, s, other.ID), other)
}

func testCreateDefaultsTimes(t *testing.T, s catalog.Store) {
	ch := channel(1)
	ch.CreatedAt, ch.UpdatedAt = time.Time{}, time.Time{}
	before := time.Now().Add(-time.Second)
	create(t, s, ch)
	after := time.Now().Add(time.Second)
	got := get(t, s, ch.ID)
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Fatalf("CreatedAt = %v, want about now", got.CreatedAt)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Fatalf("UpdatedAt = %v, want CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
}

func testCreateConflict(t *testing.T, s catalog.Store) {
	orig := channel(1)
	create(t, s, orig)
	tests := []struct {
		name   string
		mutate func(*catalog.Channel)
	}{
		{"same ID", func(c *catalog.Channel) { c.ID = orig.ID }},
		{"same name", func(c *catalog.Channel) { c.Name = orig.Name }},
		{"same stream key", func(c *catalog.Channel) { c.StreamKey = orig.StreamKey }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := channel(2)
			tc.mutate(&ch)
			err := s.CreateChannel(context.Background(), ch)
			wantErr(t, "CreateChannel", err, catalog.ErrConflict)
			if n := count(t, s); n != 1 {
				t.Fatalf("%d channels after a conflict, want 1", n)
			}
			sameChannel(t, "original", get(t, s, orig.ID), orig)
		})
	}
}

func testCreateInvalid(t *testing.T, s catalog.Store) {
	tests := []struct {
		name   string
		mutate func(*catalog.Channel)
	}{
		{"empty ID", func(c *catalog.Channel) { c.ID = "" }},
		{"empty name", func(c *catalog.Channel) { c.Name = "" }},
		{"empty stream key", func(c *catalog.Channel) { c.StreamKey = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := channel(1)
			tc.mutate(&ch)
			err := s.CreateChannel(context.Background(), ch)
			if err == nil || errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrNotFound) {
				t.Fatalf("CreateChannel = %v, want a validation error", err)
			}
			if n := count(t, s); n != 0 {
				t.Fatalf("%d channels after an invalid create, want 0", n)
			}
		})
	}
}

func testGetMissing(t *testing.T, s catalog.Store) {
	create(t, s, channel(1))
	for _, id := range []string{"ch_missing", "", channel(1).ID + "x", strings.ToUpper(channel(1).ID)} {
		_, err := s.GetChannel(context.Background(), id)
		wantErr(t, "GetChannel("+id+")", err, catalog.ErrNotFound)
	}
}

func testChannelByStreamKey(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := channel(1), channel(2)
	create(t, s, a)
	create(t, s, b)
	got, err := s.ChannelByStreamKey(ctx, b.StreamKey)
	if err != nil {
		t.Fatal(err)
	}
	sameChannel(t, "ChannelByStreamKey", got, b)

	for _, key := range []string{
		"",
		"sk_nope",
		strings.ToUpper(a.StreamKey),     // case matters
		a.StreamKey[:len(a.StreamKey)-1], // no prefix match
		a.StreamKey + " ",
		a.ID, // an ID is not a key
	} {
		_, err := s.ChannelByStreamKey(ctx, key)
		wantErr(t, "ChannelByStreamKey("+key+")", err, catalog.ErrNotFound)
	}
}

func testListChannels(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	list, err := s.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list == nil || len(list) != 0 {
		t.Fatalf("empty catalog lists %#v, want an empty non-nil slice", list)
	}

	// Inserted out of order; 3 and 4 share CreatedAt, so ID breaks the tie.
	chans := []catalog.Channel{channel(5), channel(1), channel(4), channel(3), channel(2)}
	chans[2].CreatedAt = chans[3].CreatedAt
	for _, ch := range chans {
		create(t, s, ch)
	}
	want := slices.Clone(chans)
	slices.SortFunc(want, func(x, y catalog.Channel) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	list, err = s.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("ListChannels returned %d channels, want %d", len(list), len(want))
	}
	for i := range want {
		sameChannel(t, "ListChannels item", list[i], want[i])
	}
}

func testDeleteChannel(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := channel(1), channel(2)
	create(t, s, a)
	create(t, s, b)
	if err := s.DeleteChannel(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetChannel(ctx, a.ID)
	wantErr(t, "GetChannel after delete", err, catalog.ErrNotFound)
	_, err = s.ChannelByStreamKey(ctx, a.StreamKey)
	wantErr(t, "ChannelByStreamKey after delete", err, catalog.ErrNotFound)
	wantErr(t, "second DeleteChannel", s.DeleteChannel(ctx, a.ID), catalog.ErrNotFound)
	wantErr(t, "DeleteChannel(missing)", s.DeleteChannel(ctx, "ch_missing"), catalog.ErrNotFound)
	sameChannel(t, "untouched channel", get(t, s, b.ID), b)

	// The ID, name and key are free again.
	create(t, s, a)
	sameChannel(t, "recreated channel", get(t, s, a.ID), a)
}

func testSetStreamKey(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	orig := channel(1)
	create(t, s, orig)
	before := time.Now().Add(-time.Second)
	const newKey = "sk_rotatedKEY0123456789"
	got, err := s.SetStreamKey(ctx, orig.ID, newKey)
	if err != nil {
		t.Fatal(err)
	}
	if got.StreamKey != newKey || got.ID != orig.ID || got.Name != orig.Name || !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("SetStreamKey returned %+v", got)
	}
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("UpdatedAt = %v, want about now", got.UpdatedAt)
	}
	sameChannel(t, "GetChannel after rotation", get(t, s, orig.ID), got)
	byKey, err := s.ChannelByStreamKey(ctx, newKey)
	if err != nil {
		t.Fatal(err)
	}
	sameChannel(t, "ChannelByStreamKey(new key)", byKey, got)
	_, err = s.ChannelByStreamKey(ctx, orig.StreamKey)
	wantErr(t, "ChannelByStreamKey(old key)", err, catalog.ErrNotFound)

	_, err = s.SetStreamKey(ctx, "ch_missing", "sk_other")
	wantErr(t, "SetStreamKey(missing)", err, catalog.ErrNotFound)

	_, err = s.SetStreamKey(ctx, orig.ID, "")
	if err == nil || errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("SetStreamKey(empty) = %v, want a validation error", err)
	}
	sameChannel(t, "channel after rejected rotation", get(t, s, orig.ID), got)
}

func testSetStreamKeyConflict(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := channel(1), channel(2)
	create(t, s, a)
	create(t, s, b)
	_, err := s.SetStreamKey(ctx, a.ID, b.StreamKey)
	wantErr(t, "SetStreamKey(taken key)", err, catalog.ErrConflict)
	sameChannel(t, "channel a", get(t, s, a.ID), a)
	sameChannel(t, "channel b", get(t, s, b.ID), b)

	// Setting a channel's own key again is not a conflict.
	got, err := s.SetStreamKey(ctx, a.ID, a.StreamKey)
	if err != nil {
		t.Fatalf("SetStreamKey(own key): %v", err)
	}
	if got.StreamKey != a.StreamKey {
		t.Fatalf("StreamKey = %q, want %q", got.StreamKey, a.StreamKey)
	}
}

// testConcurrentCreates races creators of distinct channels and of one
// contested name: every distinct one must land, exactly one contender must
// win, the rest must see ErrConflict, and each write must be readable at once.
func testConcurrentCreates(t *testing.T, s catalog.Store) {
	const n = 8
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wins     int
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, err)
	}
	for i := range n {
		wg.Go(func() {
			ch := channel(100 + i)
			if err := s.CreateChannel(ctx, ch); err != nil {
				fail(err)
				return
			}
			if _, err := s.ChannelByStreamKey(ctx, ch.StreamKey); err != nil {
				fail(err)
			}
		})
		wg.Go(func() {
			ch := channel(200 + i)
			ch.Name = "contested"
			err := s.CreateChannel(ctx, ch)
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, catalog.ErrConflict):
				fail(err)
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	if wins != 1 {
		t.Fatalf("%d creators of the same name succeeded, want 1", wins)
	}
	if got := count(t, s); got != n+1 {
		t.Fatalf("%d channels, want %d", got, n+1)
	}
}

func testCanceledContext(t *testing.T, s catalog.Store) {
	ch := channel(1)
	create(t, s, ch)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateChannel(ctx, channel(2)); err == nil {
		t.Error("CreateChannel with a canceled context succeeded")
	}
	if _, err := s.GetChannel(ctx, ch.ID); err == nil {
		t.Error("GetChannel with a canceled context succeeded")
	}
	if _, err := s.ListChannels(ctx); err == nil {
		t.Error("ListChannels with a canceled context succeeded")
	}
	if n := count(t, s); n != 1 {
		t.Fatalf("%d channels, want 1", n)
	}
}

func testPingClose(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}
