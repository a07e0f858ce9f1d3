package signedurl

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Verifier checks signed requests.
type Verifier struct {
	Keys *KeySet
	Now  func() time.Time // nil: time.Now
}

// credentials are the signing values of one request, from its query or its
// cookies.
type credentials struct {
	source  string // "signed URL" or "signed cookies", for messages
	policy  []byte // custom policy; nil for a canned one
	expires int64  // canned policy's expiry
	sig     []byte
	keyID   string
	hash    crypto.Hash
}

// Verify checks a request whose absolute URL (scheme://host/path?query, as
// the viewer sent it, including the signing query parameters) is u, coming
// from client IP ip, carrying cookies (may be nil). A signed URL (query
// parameters) wins over signed cookies when both are present. The path
// compared is u.RawPath when set (url.Parse keeps the viewer's encoding
// there), else u.EscapedPath(); scheme and host compare case-insensitively.
//
// It returns nil when the request is validly signed for u, or an error
// wrapping one of the sentinel errors, with a message a user can act on.
// The signature is checked before the policy's conditions, so that an
// unsigned policy is never interpreted.
func (v *Verifier) Verify(u *url.URL, ip netip.Addr, cookies []*http.Cookie) error {
	if u == nil {
		return malformed("no request URL")
	}
	c, err := fromQuery(u.RawQuery)
	if err == errNoCredentials {
		c, err = fromCookies(cookies)
	}
	if err == errNoCredentials {
		return fail(ErrUnsigned, "request is not signed: it has no Signature query parameter and no CloudFront-Signature cookie")
	}
	if err != nil {
		return err
	}
	key := v.Keys.lookup(c.keyID)
	if key == nil {
		return fail(ErrUnknownKey, fmt.Sprintf("%s uses key pair id %q, which is not trusted here", c.source, clip(c.keyID)))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if c.policy == nil {
		return c.checkCanned(key, u, now())
	}
	return c.checkCustom(key, u, ip, now())
}

func (c *credentials) checkCanned(key *rsa.PublicKey, u *url.URL, now time.Time) error {
	ok := false
	for _, r := range cannedResources(u) {
		if verifySig(key, c.hash, cannedPolicy(r, c.expires), c.sig) {
			ok = true
			break
		}
	}
	if !ok {
		return fail(ErrBadSignature, fmt.Sprintf("%s signature (canned policy, %s, key pair %q) does not match %s expiring at %s; the URL, its query or the expiry was changed, or the key differs",
			c.source, hashName(c.hash), c.keyID, requestResource(u, false), rfc3339(c.expires)))
	}
	return c.checkTimes(now, c.expires, 0, false)
}

func (c *credentials) checkCustom(key *rsa.PublicKey, u *url.URL, ip netip.Addr, now time.Time) error {
	if !verifySig(key, c.hash, c.policy, c.sig) {
		return fail(ErrBadSignature, fmt.Sprintf("%s signature (custom policy, %s, key pair %q) does not match its policy; the policy or signature was changed, or the key differs",
			c.source, hashName(c.hash), c.keyID))
	}
	p, err := parsePolicy(c.policy)
	if err != nil {
		return malformed(c.source + ": " + err.Error())
	}
	if !p.anyResource && !resourceMatches(p.resource, u) {
		return fail(ErrWrongResource, fmt.Sprintf("%s is for %s, not %s", c.source, clip(p.resource), clip(requestResource(u, false))))
	}
	if err := c.checkTimes(now, p.lessThan, p.greaterThan, p.hasGreater); err != nil {
		return err
	}
	if p.hasIP {
		a := ip.Unmap().WithZone("")
		if !a.IsValid() || !p.sourceIP.Contains(a) {
			return fail(ErrIPNotAllowed, fmt.Sprintf("%s allows clients in %s, not %s", c.source, p.sourceIP, ip))
		}
	}
	return nil
}

// checkTimes requires start < now < end (Unix seconds).
func (c *credentials) checkTimes(now time.Time, end, start int64, hasStart bool) error {
	if !now.Before(time.Unix(end, 0)) {
		return fail(ErrExpired, fmt.Sprintf("%s expired at %s", c.source, rfc3339(end)))
	}
	if hasStart && !now.After(time.Unix(start, 0)) {
		return fail(ErrNotYetValid, fmt.Sprintf("%s is not valid before %s", c.source, rfc3339(start)))
	}
	return nil
}

func verifySig(key *rsa.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	d := h.New()
	d.Write(msg)
	return rsa.VerifyPKCS1v15(key, h, d.Sum(nil), sig) == nil
}

func hashName(h crypto.Hash) string {
	if h == crypto.SHA256 {
		return "RSA-SHA256"
	}
	return "RSA-SHA1"
}

// errNoCredentials means the source carries no signing values at all.
var errNoCredentials = fmt.Errorf("no credentials")

// fromQuery reads the signing parameters of a raw query.
func fromQuery(rawQuery string) (credentials, error) {
	const src = "signed URL"
	vals := map[string]string{}
	for seg := range strings.SplitSeq(rawQuery, "&") {
		name, raw, _ := strings.Cut(seg, "=")
		if !IsSigningParam(name) {
			continue
		}
		if _, dup := vals[name]; dup {
			return credentials{}, malformed(fmt.Sprintf("%s has %s twice", src, name))
		}
		// PathUnescape, not QueryUnescape: a '+' of standard base64 stays '+'.
		v, err := url.PathUnescape(raw)
		if err != nil {
			return credentials{}, malformed(fmt.Sprintf("%s: %s is not valid percent-encoding", src, name))
		}
		vals[name] = v
	}
	return collect(src, vals, map[string]string{
		"expires": ParamExpires, "policy": ParamPolicy, "sig": ParamSignature,
		"key": ParamKeyPairID, "hash": ParamHashAlgorithm,
	})
}

// fromCookies reads signed cookies; the first cookie of each name counts.
func fromCookies(cookies []*http.Cookie) (credentials, error) {
	vals := map[string]string{}
	for _, ck := range cookies {
		if ck == nil {
			continue
		}
		switch ck.Name {
		case CookieExpires, CookiePolicy, CookieSignature, CookieKeyPairID, CookieHashAlgorithm:
			if _, seen := vals[ck.Name]; !seen {
				vals[ck.Name] = ck.Value
			}
		}
	}
	return collect("signed cookies", vals, map[string]string{
		"expires": CookieExpires, "policy": CookiePolicy, "sig": CookieSignature,
		"key": CookieKeyPairID, "hash": CookieHashAlgorithm,
	})
}

// collect validates the values found under the names of one source. A
// source counts as signed when it has any of the policy, expiry, signature
// or key pair id; a hash algorithm alone does not make it signed. A policy
// wins over an expiry when both are present.
func collect(src string, vals map[string]string, names map[string]string) (credentials, error) {
	c := credentials{source: src}
	get := func(k string) (string, bool) { v, ok := vals[names[k]]; return v, ok }
	expires, hasExpires := get("expires")
	policy, hasPolicy := get("policy")
	sig, hasSig := get("sig")
	keyID, hasKey := get("key")
	if !hasExpires && !hasPolicy && !hasSig && !hasKey {
		return c, errNoCredentials
	}
	bad := func(format string, a ...any) (credentials, error) {
		return credentials{}, malformed(src + ": " + fmt.Sprintf(format, a...))
	}
	if !hasSig || sig == "" {
		return bad("%s is missing or empty", names["sig"])
	}
	if !hasKey || keyID == "" {
		return bad("%s is missing or empty", names["key"])
	}
	if !hasPolicy && !hasExpires {
		return bad("it needs %s (canned policy) or %s (custom policy)", names["expires"], names["policy"])
	}
	c.keyID = keyID
	var ok bool
	if c.sig, ok = decodeB64(sig); !ok || len(c.sig) == 0 {
		return bad("%s is not base64 (CloudFront's -_~ variant)", names["sig"])
	}
	h, _ := get("hash")
	if c.hash, ok = parseHash(h); !ok {
		return bad("%s %q is not %s or %s", names["hash"], clip(h), HashSHA1, HashSHA256)
	}
	if hasPolicy {
		if c.policy, ok = decodeB64(policy); !ok || len(c.policy) == 0 {
			return bad("%s is not base64 (CloudFront's -_~ variant)", names["policy"])
		}
		return c, nil
	}
	n, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || n < 0 || expires[0] == '+' {
		return bad("%s %q is not a Unix time in seconds", names["expires"], clip(expires))
	}
	c.expires = n
	return c, nil
}
