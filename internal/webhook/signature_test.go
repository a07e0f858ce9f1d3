package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// HMAC-SHA256(key "Jefe", "1700000000.what do ya want for nothing?"),
	// computed independently with
	//   printf %s '1700000000.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe
	const want = "t=1700000000,v1=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
	if got := Sign("Jefe", time.Unix(1700000000, 0), []byte("what do ya want for nothing?")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"asset.ready"}`)
	sig := Sign("whsec_k", now, body)
	v1 := strings.TrimPrefix(sig, "t=1800000000,v1=")
	old := Sign("whsec_k", now.Add(-6*time.Minute), body)
	other := Sign("whsec_other", now, body)
	tests := []struct {
		name, secret, header string
		body                 []byte
		tolerance            time.Duration
		want                 error // nil, or the sentinel wrapped
	}{
		{"valid", "whsec_k", sig, body, 0, nil},
		{"spaces after commas", "whsec_k", "t=1800000000, v1=" + v1, body, 0, nil},
		{"keys in any order, unknown ignored", "whsec_k", "v0=abc,v1=" + v1 + ",t=1800000000", body, 0, nil},
		{"rotated secret: second v1 matches", "whsec_k", other + ",v1=" + v1, body, 0, nil},
		{"4 min old", "whsec_k", Sign("whsec_k", now.Add(-4*time.Minute), body), body, 0, nil},
		{"6 min old", "whsec_k", old, body, 0, ErrExpired},
		{"6 min old, 10 min tolerance", "whsec_k", old, body, 10 * time.Minute, nil},
		{"6 min ahead", "whsec_k", Sign("whsec_k", now.Add(6*time.Minute), body), body, 0, ErrExpired},
		{"replayed with a fresh t", "whsec_k", "t=1800000000,v1=" + strings.TrimPrefix(old, "t=1799999640,v1="), body, 0, ErrMismatch},
		{"other secret", "whsec_x", sig, body, 0, ErrMismatch},
		{"tampered body", "whsec_k", sig, []byte(`{"id":"evt_2","type":"asset.ready"}`), 0, ErrMismatch},
		{"extra byte", "whsec_k", sig, append(body, ' '), 0, ErrMismatch},
		{"truncated signature", "whsec_k", sig[:len(sig)-2], body, 0, ErrMismatch},
		{"not hex", "whsec_k", "t=1800000000,v1=zz", body, 0, ErrMismatch},
		{"old scheme", "whsec_k", "sha256=" + v1, body, 0, ErrMalformed},
		{"empty", "whsec_k", "", body, 0, ErrMalformed},
		{"no timestamp", "whsec_k", "v1=" + v1, body, 0, ErrMalformed},
		{"no signature", "whsec_k", "t=1800000000", body, 0, ErrMalformed},
		{"two timestamps", "whsec_k", "t=1,t=1800000000,v1=" + v1, body, 0, ErrMalformed},
		{"negative timestamp", "whsec_k", "t=-1,v1=" + v1, body, 0, ErrMalformed},
		{"signed timestamp", "whsec_k", "t=+1800000000,v1=" + v1, body, 0, ErrMalformed},
		{"huge timestamp", "whsec_k", "t=99999999999999999999,v1=" + v1, body, 0, ErrMalformed},
		{"too long", "whsec_k", sig + strings.Repeat(",v1=00", 1000), body, 0, ErrMalformed},
	}
	for _, tc := range tests {
		err := VerifyAt(tc.secret, tc.header, tc.body, tc.tolerance, now)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Verify reads the real clock: a signature made now passes, one made
	// an hour ago does not.
	if err := Verify("s", Sign("s", time.Now(), body), body, 0); err != nil {
		t.Errorf("Verify(now) = %v", err)
	}
	if err := Verify("s", Sign("s", time.Now().Add(-time.Hour), body), body, 0); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify(an hour ago) = %v, want ErrExpired", err)
	}
}

// TestWorkSignsTimestamp: a delivery's signature covers the time it was
// sent; replayed later, it no longer verifies.
func TestWorkSignsTimestamp(t *testing.T) {
	t.Parallel()
	rcv := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	sent := time.Unix(1_800_000_000, 0)
	store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: srv.URL, Secret: "whsec_t"}}}
	w := &Worker{Store: store, Client: srv.Client(), Now: func() time.Time { return sent }}
	if err := w.Work(context.Background(), newJob(testArgs(), 1)); err != nil {
		t.Fatal(err)
	}
	req, body := rcv.reqs[0], rcv.bodies[0]
	sig := req.Header.Get("Osprey-Signature")
	if !strings.HasPrefix(sig, "t=1800000000,v1=") || req.Header.Get("Osprey-Timestamp") != "1800000000" {
		t.Fatalf("Osprey-Signature %q, Osprey-Timestamp %q", sig, req.Header.Get("Osprey-Timestamp"))
	}
	if err := VerifyAt("whsec_t", sig, body, 0, sent.Add(30*time.Second)); err != nil {
		t.Fatalf("fresh delivery: %v", err)
	}
	if err := VerifyAt("whsec_t", sig, body, 0, sent.Add(10*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("delivery replayed 10 minutes later: %v, want ErrExpired", err)
	}
}
