package catalogtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func testUpdateChannel(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	orig := channel(2) // no DVR window of its own, not recorded
	create(t, s, orig)
	before := time.Now().Add(-time.Second)
	got, err := s.UpdateChannel(ctx, orig.ID, func(ch *catalog.Channel) error {
		if ch.ID != orig.ID || ch.Name != orig.Name || ch.DVRWindow != 0 || ch.Record {
			t.Errorf("fn got %+v, want the stored channel %+v", *ch, orig)
		}
		ch.Name = "Renamed"
		ch.DVRWindow = 3*time.Hour + 7
		ch.Record = true
		// Ignored: only the name, DVR window and record flag are written.
		ch.StreamKey = "sk_ignored0123456789"
		ch.CreatedAt = base.Add(time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || got.DVRWindow != 3*time.Hour+7 || !got.Record ||
		got.StreamKey != orig.StreamKey || !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("UpdateChannel returned %+v", got)
	}
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("UpdatedAt = %v, want about now", got.UpdatedAt)
	}
	sameChannel(t, "GetChannel after update", get(t, s, orig.ID), got)

	// Back to the defaults.
	got, err = s.UpdateChannel(ctx, orig.ID, func(ch *catalog.Channel) error {
		ch.DVRWindow, ch.Record = 0, false
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.DVRWindow != 0 || got.Record {
		t.Fatalf("after reset: %+v", got)
	}
	sameChannel(t, "GetChannel after reset", get(t, s, orig.ID), got)

	// fn's error aborts the update and comes back as is.
	errStop := errors.New("stop")
	_, err = s.UpdateChannel(ctx, orig.ID, func(ch *catalog.Channel) error {
		ch.Name, ch.Record = "Not written", true
		return errStop
	})
	if err != errStop {
		t.Fatalf("UpdateChannel(fn error) = %v, want fn's error itself", err)
	}
	sameChannel(t, "channel after aborted update", get(t, s, orig.ID), got)

	// A missing channel: ErrNotFound, fn not called.
	_, err = s.UpdateChannel(ctx, "ch_missing", func(*catalog.Channel) error {
		t.Error("fn called for a missing channel")
		return nil
	})
	wantErr(t, "UpdateChannel(missing)", err, catalog.ErrNotFound)

	// Invalid values are refused, not stored.
	for name, fn := range map[string]func(*catalog.Channel){
		"empty name":      func(ch *catalog.Channel) { ch.Name = "" },
		"negative window": func(ch *catalog.Channel) { ch.DVRWindow = -time.Second },
	} {
		_, err = s.UpdateChannel(ctx, orig.ID, func(ch *catalog.Channel) error { fn(ch); return nil })
		if err == nil || errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrConflict) {
			t.Fatalf("UpdateChannel(%s) = %v, want a validation error", name, err)
		}
	}
	sameChannel(t, "channel after refused updates", get(t, s, orig.ID), got)
}

func testUpdateChannelConflict(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := channel(1), channel(2)
	create(t, s, a)
	create(t, s, b)
	_, err := s.UpdateChannel(ctx, a.ID, func(ch *catalog.Channel) error {
		ch.Name = b.Name
		return nil
	})
	wantErr(t, "UpdateChannel(taken name)", err, catalog.ErrConflict)
	sameChannel(t, "channel a", get(t, s, a.ID), a)
	sameChannel(t, "channel b", get(t, s, b.ID), b)
}
