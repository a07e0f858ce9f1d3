package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns (wrapped), so receivers can tell them apart.
var (
	// ErrMalformed: the header is not "t=<unix>,v1=<hex>[,v1=<hex>...]".
	ErrMalformed = errors.New("webhook: malformed Osprey-Signature header")
	// ErrMismatch: no v1 signature matches the body under the secret.
	ErrMismatch = errors.New("webhook: signature does not match")
	// ErrExpired: the timestamp is further than the tolerance from now (a
	// replay, or a badly wrong clock).
	ErrExpired = errors.New("webhook: signature timestamp outside the tolerance")
)

// maxSignatureHeader bounds the header Verify parses.
const maxSignatureHeader = 4 << 10

// Sign returns the Osprey-Signature header value for body sent at t:
// "t=<unix seconds>,v1=" + hex(HMAC-SHA256(secret, "<unix seconds>.<body>")).
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks an Osprey-Signature header against the raw request body:
// one of its v1 signatures must be the HMAC-SHA256 of "<t>.<body>" under
// secret (compared in constant time), and its timestamp t must be within
// tolerance of now (DefaultTolerance when tolerance <= 0), so that a
// captured request cannot be replayed later. Unknown keys in the header
// are ignored, for future schemes. The error wraps ErrMalformed,
// ErrMismatch or ErrExpired; nil means the delivery is authentic.
//
// A receiver in Go:
//
//	body, _ := io.ReadAll(r.Body)
//	if err := webhook.Verify(secret, r.Header.Get("Osprey-Signature"), body, 0); err != nil {
//		http.Error(w, "bad signature", http.StatusBadRequest)
//		return
//	}
//	// then deduplicate on the Osprey-Delivery header
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return VerifyAt(secret, header, body, tolerance, time.Now())
}

// VerifyAt is Verify with the receiver's clock reading now.
func VerifyAt(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrMismatch
	}
	// Checked after the MAC: the timestamp is only meaningful once it is
	// known to be Osprey's.
	unix, _ := strconv.ParseInt(ts, 10, 64) // parseSignature checked it
	if d := now.Sub(time.Unix(unix, 0)); d.Abs() > tolerance {
		return fmt.Errorf("%w: signed %v %s, tolerance %v", ErrExpired, d.Abs().Truncate(time.Second),
			map[bool]string{true: "ago", false: "in the future"}[d > 0], tolerance)
	}
	return nil
}

// parseSignature splits "t=<unix>,v1=<hex>,..." into the timestamp as
// written and the v1 signatures.
func parseSignature(header string) (ts string, sigs []string, err error) {
	if len(header) > maxSignatureHeader {
		return "", nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxSignatureHeader)
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: %q is not key=value", ErrMalformed, part)
		}
		switch k {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("%w: more than one timestamp", ErrMalformed)
			}
			seenT = true
			if !isDigits(v) || len(v) > 18 {
				return "", nil, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrMalformed, v)
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	switch {
	case !seenT:
		return "", nil, fmt.Errorf("%w: no t= timestamp", ErrMalformed)
	case len(sigs) == 0:
		return "", nil, fmt.Errorf("%w: no v1= signature", ErrMalformed)
	}
	return ts, sigs, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
