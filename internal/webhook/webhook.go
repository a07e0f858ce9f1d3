// Package webhook notifies HTTP endpoints of asset events, the way a
// publish/subscribe service would: Notifier.Emit fans an event out to every
// subscribed webhook as one job each on the "webhooks" queue, and Worker
// delivers a job with a signed POST, recording every attempt in the catalog
// and letting the queue retry failures with exponential backoff.
//
// A delivery is a POST of the event's JSON
//
//	{"id":"evt_…","type":"asset.ready","created_at":"…","data":{…}}
//
// with the headers Osprey-Event (type), Osprey-Delivery (event id, the same
// on every attempt, for deduplication), Osprey-Timestamp (unix seconds) and
// Osprey-Signature: "sha256=" + hex(HMAC-SHA256(secret, body)). Receivers
// check the signature with Verify (or its equivalent) and answer 2xx; 410
// Gone stops further attempts for that event.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Event types.
const (
	AssetCreated  = "asset.created"
	AssetProgress = "asset.progress"
	AssetReady    = "asset.ready"
	AssetFailed   = "asset.failed"
)

// EventTypes lists every event type, for validating subscriptions.
var EventTypes = []string{AssetCreated, AssetProgress, AssetReady, AssetFailed}

// signaturePrefix names the signature's algorithm in the header value.
const signaturePrefix = "sha256="

// Sign returns the Osprey-Signature header value for body:
// "sha256=" + hex(HMAC-SHA256(secret, body)).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time.
func Verify(secret string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	mac, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(mac, m.Sum(nil))
}

// NewSecret returns a new signing secret: "whsec_" and 32 random bytes,
// base64url without padding.
func NewSecret() string { return "whsec_" + randomString(32) }

// newEventID returns "evt_" and 16 random bytes, base64url.
func newEventID() string { return "evt_" + randomString(16) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics on failure)
	return base64.RawURLEncoding.EncodeToString(b)
}
