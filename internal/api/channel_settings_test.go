package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// withWindows sets the deployment's DVR window (2h) and live window (20s).
func withWindows(d *Deps) { d.DVRWindow, d.LiveWindow = 2*time.Hour, 20*time.Second }

func TestCreateChannelDVRWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body      string
		window    time.Duration
		effective int64
		record    bool
	}{
		{`{"name":"x"}`, 0, 7200, false},
		{`{"name":"x","dvr_window":0}`, 0, 7200, false},
		{`{"name":"x","dvr_window":null,"record":true}`, 0, 7200, true},
		{`{"name":"x","dvr_window":"90m"}`, 90 * time.Minute, 5400, false},
		{`{"name":"x","dvr_window":"24h","record":true}`, 24 * time.Hour, 86400, true},
		{`{"name":"x","dvr_window":600}`, 10 * time.Minute, 600, false},
		{`{"name":"x","dvr_window":"20s"}`, 20 * time.Second, 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil, withWindows)
			w := e.do("POST", "/api/v1/channels", tt.body)
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			ch := decode[Channel](t, w)
			if ch.DVRWindow != int64(tt.window/time.Second) || ch.DVRWindowEffective != tt.effective || ch.Record != tt.record {
				t.Fatalf("view: dvr_window %d, effective %d, record %v; want %v, %d, %v", ch.DVRWindow, ch.DVRWindowEffective, ch.Record,
					tt.window, tt.effective, tt.record)
			}
			stored, _ := e.cat.get(ch.ID)
			if stored.DVRWindow != tt.window || stored.Record != tt.record {
				t.Fatalf("stored %v, %v", stored.DVRWindow, stored.Record)
			}
		})
	}
}

func TestDVRWindowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ value, msg string }{
		{`"25h"`, "dvr_window must be at most 24h (86400 seconds), got 25h"},
		{`90000`, "dvr_window must be at most 24h"},
		{`"10s"`, "dvr_window must be at least the live window, 20s (20 seconds), got 10s"},
		{`"-1h"`, "dvr_window must not be negative"},
		{`-60`, "dvr_window must not be negative"},
		{`"1.5m"`, ""}, // 90 s: fine, checked below
		{`"90.5s"`, "dvr_window must be a whole number of seconds"},
		{`90.5`, "dvr_window must be a whole number of seconds"},
		{`"two hours"`, `dvr_window "two hours" is not a duration`},
		{`true`, "dvr_window must be a number of seconds or a duration"},
		{`{}`, "dvr_window must be a number of seconds or a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			for _, req := range []struct{ method, path string }{
				{"POST", "/api/v1/channels"}, {"PATCH", "/api/v1/channels/" + chA.ID},
			} {
				e := newTestEnv(t, []catalog.Channel{chA}, withWindows)
				body := `{"name":"New","dvr_window":` + tt.value + `}`
				w := e.do(req.method, req.path, body)
				if tt.msg == "" {
					if w.Code >= 300 {
						t.Fatalf("%s: status %d: %s", req.method, w.Code, w.Body)
					}
					continue
				}
				wantError(t, w, http.StatusBadRequest, CodeInvalidArgument, tt.msg)
				if got, _ := e.cat.get(chA.ID); got != chA {
					t.Fatalf("%s changed the channel: %+v", req.method, got)
				}
			}
		})
	}
}

func TestUpdateChannel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA, chB}, withWindows)
	w := e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"dvr_window":"3h","record":true}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	ch := decode[Channel](t, w)
	if ch.Name != "Alpha" || ch.DVRWindow != 10800 || ch.DVRWindowEffective != 10800 || !ch.Record || ch.StreamKey != chA.StreamKey {
		t.Fatalf("after PATCH: %+v", ch)
	}
	// Only what is given changes.
	w = e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"name":"Alpha 2"}`)
	if ch = decode[Channel](t, w); ch.Name != "Alpha 2" || ch.DVRWindow != 10800 || !ch.Record {
		t.Fatalf("after renaming: %+v", ch)
	}
	// Back to the default window, recording off.
	w = e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"dvr_window":0,"record":false}`)
	if ch = decode[Channel](t, w); ch.DVRWindow != 0 || ch.DVRWindowEffective != 7200 || ch.Record {
		t.Fatalf("after reset: %+v", ch)
	}
	if got := decode[Channel](t, e.do("GET", "/api/v1/channels/"+chA.ID, "")); got.Name != "Alpha 2" || got.Record {
		t.Fatalf("GET after PATCH: %+v", got)
	}

	wantError(t, e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"name":"Beta"}`), http.StatusConflict, CodeAlreadyExists, `"Beta" already exists`)
	wantError(t, e.do("PATCH", "/api/v1/channels/ch_missing", `{"record":true}`), http.StatusNotFound, CodeNotFound, "not found")
	wantError(t, e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"name":""}`), http.StatusBadRequest, CodeInvalidArgument, "name is required")
	wantError(t, e.do("PATCH", "/api/v1/channels/"+chA.ID, `{"record":"yes"}`), http.StatusBadRequest, CodeInvalidArgument, `field "record" must be a JSON boolean`)
	if chs, _ := e.cat.ListChannels(context.Background()); len(chs) != 2 {
		t.Fatalf("%d channels", len(chs))
	}
}
