package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authenticate lets requests through that carry "Authorization: Bearer
// <admin token>", and answers 401 to the rest.
func (a *API) authenticate(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(a.deps.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		switch {
		case !ok:
			unauthorized(w, `Bearer realm="osprey"`, "missing bearer token: send \"Authorization: Bearer <admin token>\"")
			return
		case !a.tokenMatches(token, want):
			a.log.Warn("API request with an invalid admin token", "remote_addr", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, `Bearer realm="osprey", error="invalid_token"`, "invalid admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tokenMatches compares in constant time; hashing first hides the length too.
// An empty configured token never matches.
func (a *API) tokenMatches(token string, want [sha256.Size]byte) bool {
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && a.deps.AdminToken != ""
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter, challenge, message string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	writeError(w, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: message})
}
