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
//
//	Osprey-Signature: t=<unix seconds>,v1=<hex(HMAC-SHA256(secret, "<t>.<body>"))>
//
// The signed timestamp lets receivers refuse replays: Verify checks the
// signature in constant time and refuses a timestamp more than a tolerance
// (5 minutes by default) away from now. Receivers answer 2xx; 410 Gone
// stops further attempts for that event.
//
// Deliveries go out through a client that refuses non-public addresses at
// dial time and ignores proxies from the environment (NewClient), and
// CheckURL refuses a literal private address or localhost when a webhook
// is registered.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
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
