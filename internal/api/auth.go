package api

import (
	"net/http"

	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// authenticate lets requests through that carry "Authorization: Bearer
// <admin token>", and answers 401 to the rest. The comparison is
// httpguard.Bearer's, shared with the edge: constant time on SHA-256
// hashes; an empty configured token never matches.
func (a *API) authenticate(next http.Handler) http.Handler {
	admin := httpguard.NewBearer(a.deps.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := httpguard.BearerToken(r)
		switch {
		case !ok:
			unauthorized(w, `Bearer realm="osprey"`, "missing bearer token: send \"Authorization: Bearer <admin token>\"")
			return
		case !admin.Match(token):
			a.log.Warn("API request with an invalid admin token", "remote_addr", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, `Bearer realm="osprey", error="invalid_token"`, "invalid admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, challenge, message string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	writeError(w, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: message})
}
