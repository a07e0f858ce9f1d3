package live

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

type fakeChannels map[string]catalog.Channel // by stream key

func (f fakeChannels) ChannelByStreamKey(_ context.Context, key string) (catalog.Channel, error) {
	ch, ok := f[key]
	if !ok {
		return catalog.Channel{}, catalog.ErrNotFound
	}
	return ch, nil
}

func newTestManager(t *testing.T) (*Manager, storage.Store) {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chans := fakeChannels{"sk_good": {ID: "ch_1", Name: "one", StreamKey: "sk_good"}}
	return NewManager(Config{}, chans, st, slog.New(slog.DiscardHandler)), st
}

func req(key string) ingest.Request {
	return ingest.Request{Protocol: "rtmp", StreamKey: key, RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}}
}

func TestPublishAdmitsOnePublisherPerChannel(t *testing.T) {
	m, _ := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Publish(ctx, req("sk_wrong")); !errors.Is(err, ingest.ErrUnknownKey) {
		t.Fatalf("wrong key: %v, want ErrUnknownKey", err)
	}
	if st := m.Status("ch_1"); st.State != "idle" {
		t.Fatalf("state before publish = %q", st.State)
	}
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Status("ch_1"); st.State != "live" || st.Protocol != "rtmp" || st.RemoteAddr != "127.0.0.1:5000" {
		t.Fatalf("status while publishing = %+v", st)
	}
	if _, err := m.Publish(ctx, req("sk_good")); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("second publisher: %v, want ErrBusy", err)
	}
	pub.Close(nil)
	if st := m.Status("ch_1"); st.State != "idle" {
		t.Fatalf("state after close = %q", st.State)
	}
	pub2, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatalf("publishing again after the first left: %v", err)
	}
	pub2.Close(nil)
	if err := m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveStopsThePublisherAndDeletesMedia(t *testing.T) {
	m, st := newTestManager(t)
	ctx := context.Background()
	for _, key := range []string{"live/ch_1/720p/1.m4s", "live/ch_1/index.m3u8", "live/ch_10/index.m3u8"} {
		if err := st.Put(ctx, key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := m.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "ch_1"); err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteUnit(0, nil); !errors.Is(err, errStopped) {
		t.Errorf("WriteUnit after Remove: %v, want errStopped", err)
	}
	if st := m.Status("ch_1"); st.State != "idle" {
		t.Errorf("state after Remove = %q", st.State)
	}
	// Until its catalog row is gone, the removed channel's key admits nobody.
	if _, err := m.Publish(ctx, req("sk_good")); !errors.Is(err, ingest.ErrUnknownKey) {
		t.Errorf("publish to a removed channel: %v, want ErrUnknownKey", err)
	}
	for key, want := range map[string]bool{"live/ch_1/720p/1.m4s": false, "live/ch_1/index.m3u8": false, "live/ch_10/index.m3u8": true} {
		obj, err := st.Open(ctx, key)
		if exists := err == nil; exists != want {
			t.Errorf("%s exists = %v, want %v", key, exists, want)
		}
		if obj != nil {
			obj.Close()
		}
	}
}
