package webhook

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers, bodies and secrets to Verify: it
// never panics, it accepts only a header carrying the right MAC, and
// everything Sign makes verifies, but not with another body.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"id":"evt_1","type":"asset.ready","data":{}}`)
	at := time.Unix(1_800_000_000, 0)
	f.Add("whsec_k", Sign("whsec_k", at, body), body, at.Unix())
	f.Add("whsec_k", "t=1800000000,v1=00,v1="+strings.Repeat("a", 64), body, at.Unix())
	f.Add("k", "t=1, v1=zz ,v0=1,,=", []byte{}, int64(1))
	f.Add("", "sha256=abcd", []byte("x"), int64(0))
	f.Add("s", "t=99999999999999999,v1=", []byte("\x00"), int64(1<<40))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte, unix int64) {
		unix = max(0, min(unix, 1<<40)) // Sign's timestamps: after 1970, before year 36812
		now := time.Unix(unix, 0)

		err := VerifyAt(secret, header, body, 0, now)
		if err == nil {
			ts, sigs, perr := parseSignature(header)
			if perr != nil {
				t.Fatalf("accepted a header it cannot parse: %v", perr)
			}
			want := hex.EncodeToString(mac(secret, ts, body))
			found := false
			for _, s := range sigs {
				found = found || strings.EqualFold(s, want)
			}
			if !found {
				t.Fatalf("accepted %q without the right MAC", header)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrExpired) {
			t.Fatalf("error %v wraps none of the documented errors", err)
		}

		sig := Sign(secret, now, body)
		if err := VerifyAt(secret, sig, body, 0, now); err != nil {
			t.Fatalf("Sign's own header %q does not verify: %v", sig, err)
		}
		other := append(bytes.Clone(body), '!')
		if err := VerifyAt(secret, sig, other, 0, now); !errors.Is(err, ErrMismatch) {
			t.Fatalf("a changed body verifies: %v", err)
		}
		if err := VerifyAt(secret, sig, body, time.Minute, now.Add(2*time.Minute)); !errors.Is(err, ErrExpired) {
			t.Fatalf("a 2-minute-old signature passes a 1-minute tolerance: %v", err)
		}
	})
}
