package httpguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Bearer checks "Authorization: Bearer <token>" against one secret, the
// admin token. It compares SHA-256 hashes in constant time, so neither the
// token's content nor its length leaks through timing. A Bearer made from
// an empty secret matches nothing.
type Bearer struct {
	sum [sha256.Size]byte
	set bool
}

// NewBearer returns the check for secret (surrounding spaces ignored).
func NewBearer(secret string) Bearer {
	secret = strings.TrimSpace(secret)
	return Bearer{sum: sha256.Sum256([]byte(secret)), set: secret != ""}
}

// Enabled reports whether a secret is set.
func (b Bearer) Enabled() bool { return b.set }

// Match reports whether token is the secret.
func (b Bearer) Match(token string) bool {
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], b.sum[:]) == 1 && b.set
}

// Authorized reports whether r carries the secret as its bearer token.
func (b Bearer) Authorized(r *http.Request) bool {
	token, ok := BearerToken(r)
	return ok && b.Match(token)
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme in any case); ok is false when there is none.
func BearerToken(r *http.Request) (token string, ok bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
