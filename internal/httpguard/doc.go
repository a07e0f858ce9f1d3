// Package httpguard is Osprey's HTTP front door, shared by `osprey serve`
// and `osprey edge`: per-client token-bucket rate limits (429 with
// Retry-After), CIDR allow/deny rules per route class (403), request size
// limits, progress deadlines that cut stalled clients without capping long
// uploads and downloads, a connection cap (global and per client address),
// security headers, a TLS certificate that reloads without a restart, and
// the one bearer-token check of the admin token.
//
// A Guard is built from Options, which the composition root parses from
// the configuration (config.Security). Wrap puts it in front of a
// handler, with a function that sorts each request into a route class;
// Listener caps connections (and adds TLS); Server returns an http.Server
// with the header timeout, idle timeout and header size limit set.
package httpguard
