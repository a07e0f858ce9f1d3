package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/live"
)

// kickLive is a live manager that can disconnect: a channel is live until
// Disconnect is called for it.
type kickLive struct {
	fakeLive
	mu     sync.Mutex
	kicked []string
}

func (l *kickLive) Disconnect(_ context.Context, id string) error {
	l.mu.Lock()
	l.kicked = append(l.kicked, id)
	l.mu.Unlock()
	l.fakeLive.mu.Lock()
	delete(l.fakeLive.statuses, id)
	l.fakeLive.mu.Unlock()
	return nil
}

func (l *kickLive) kickedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.kicked)
}

// channelHandler serves the channel routes of an API over deps, as the
// API's router does.
func channelHandler(t *testing.T, cat *memCatalog, lv Live) http.Handler {
	t.Helper()
	a := New(Deps{Catalog: cat, Live: lv, AdminToken: testToken, RTMPAddr: ":1935"})
	mux := http.NewServeMux()
	a.channelRoutes(mux)
	return a.authenticate(mux)
}

func serveChannel(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request(method, target, body))
	return w
}

func TestDisconnectChannel(t *testing.T) {
	chA := catalog.Channel{ID: "ch_aaaaaaaaaaaaaaaa", Name: "a", StreamKey: "sk_a", CreatedAt: t0, UpdatedAt: t0}
	tests := []struct {
		name       string
		live       bool // the channel has a publisher
		id         string
		status     int
		wantKicked []string
	}{
		{"live channel", true, chA.ID, 200, []string{chA.ID}},
		{"idle channel: still asks, nothing to end", false, chA.ID, 200, []string{chA.ID}},
		{"unknown channel", false, "ch_nope", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lv := &kickLive{fakeLive: fakeLive{statuses: map[string]live.Status{}}}
			if tt.live {
				lv.statuses[chA.ID] = live.Status{State: "live", Protocol: "rtmp"}
			}
			h := channelHandler(t, newMemCatalog(chA), lv)
			w := serveChannel(h, "POST", "/api/v1/channels/"+tt.id+"/disconnect", "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := lv.kickedIDs(); !slices.Equal(got, tt.wantKicked) {
				t.Errorf("disconnected %v, want %v", got, tt.wantKicked)
			}
			if w.Code == 200 {
				if ch := decode[Channel](t, w); ch.ID != chA.ID || ch.State != "idle" || ch.Live != nil || ch.StreamKey != "sk_a" {
					t.Errorf("answer %+v, want the idle channel, same key", ch)
				}
			}
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		h := channelHandler(t, newMemCatalog(chA), &kickLive{})
		if w := serveChannel(h, "GET", "/api/v1/channels/"+chA.ID+"/disconnect", ""); w.Code != 405 || w.Header().Get("Allow") != "POST" {
			t.Errorf("GET: %d, Allow %q", w.Code, w.Header().Get("Allow"))
		}
	})
	t.Run("live manager that cannot disconnect", func(t *testing.T) {
		h := channelHandler(t, newMemCatalog(chA), &fakeLive{statuses: map[string]live.Status{}})
		if w := serveChannel(h, "POST", "/api/v1/channels/"+chA.ID+"/disconnect", ""); w.Code != 501 {
			t.Errorf("status %d, want 501: %s", w.Code, w.Body)
		}
	})
}

func TestRotateKeyCanDisconnect(t *testing.T) {
	chA := catalog.Channel{ID: "ch_aaaaaaaaaaaaaaaa", Name: "a", StreamKey: "sk_a", CreatedAt: t0, UpdatedAt: t0}
	tests := []struct {
		name, query, body string
		status            int
		kicked            bool
	}{
		{"no body: keeps the publisher", "", "", 200, false},
		{"query", "?disconnect=true", "", 200, true},
		{"query 1", "?disconnect=1", "", 200, true},
		{"body", "", `{"disconnect":true}`, 200, true},
		{"body false", "", `{"disconnect":false}`, 200, false},
		{"blank body", "", " \n", 200, false},
		{"bad query", "?disconnect=maybe", "", 400, false},
		{"unknown field", "", `{"disconect":true}`, 400, false},
		{"not JSON", "", `disconnect`, 400, false},
		{"too large", "", `{"disconnect":true}` + strings.Repeat(" ", maxBodyBytes), 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lv := &kickLive{fakeLive: fakeLive{statuses: map[string]live.Status{chA.ID: {State: "live"}}}}
			cat := newMemCatalog(chA)
			h := channelHandler(t, cat, lv)
			w := serveChannel(h, "POST", "/api/v1/channels/"+chA.ID+"/rotate-key"+tt.query, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if kicked := len(lv.kickedIDs()) > 0; kicked != tt.kicked {
				t.Errorf("disconnected: %v, want %v", kicked, tt.kicked)
			}
			stored, _ := cat.get(chA.ID)
			if rotated := stored.StreamKey != "sk_a"; rotated != (tt.status == 200) {
				t.Errorf("key rotated: %v, want %v", rotated, tt.status == 200)
			}
			if tt.status != 200 {
				return
			}
			ch := decode[Channel](t, w)
			if ch.StreamKey == "sk_a" || ch.StreamKey != stored.StreamKey {
				t.Errorf("answer has key %q, stored %q", ch.StreamKey, stored.StreamKey)
			}
			if wantState := map[bool]string{true: "idle", false: "live"}[tt.kicked]; ch.State != wantState {
				t.Errorf("state %q, want %q", ch.State, wantState)
			}
		})
	}
}
