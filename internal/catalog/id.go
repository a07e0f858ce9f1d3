package catalog

import (
	"crypto/rand"
	"encoding/base32"
)

// lowerBase32 encodes without padding in lowercase letters and digits 2-7,
// which are safe in URLs, file names and RTMP/SRT stream IDs.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RandomString returns n random bytes in lowercase base32 (8 characters
// per 5 bytes).
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand aborts the program instead
	return lowerBase32.EncodeToString(b)
}

// NewID returns prefix + 80 random bits, the shape of every catalog ID
// ("ch_…", "as_…", "wh_…").
func NewID(prefix string) string { return prefix + RandomString(10) }
