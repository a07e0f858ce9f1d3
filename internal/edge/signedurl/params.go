package signedurl

import (
	"crypto"
	"encoding/base64"
	"strings"
)

// Query parameter names of a signed URL (case-sensitive, as CloudFront's).
const (
	ParamExpires       = "Expires"
	ParamPolicy        = "Policy"
	ParamSignature     = "Signature"
	ParamKeyPairID     = "Key-Pair-Id"
	ParamHashAlgorithm = "Hash-Algorithm"
)

// Cookie names of signed cookies. The Developer Guide names
// CloudFront-Hash-Algorithm as the optional fourth cookie ("Set signed
// cookies using a canned policy" / "... custom policy").
const (
	CookieExpires       = "CloudFront-Expires"
	CookiePolicy        = "CloudFront-Policy"
	CookieSignature     = "CloudFront-Signature"
	CookieKeyPairID     = "CloudFront-Key-Pair-Id"
	CookieHashAlgorithm = "CloudFront-Hash-Algorithm"
)

// Values of Hash-Algorithm and CloudFront-Hash-Algorithm. The documentation
// shows "SHA256"; "SHA1", the default, is accepted too. Other values,
// including other spellings, are malformed.
const (
	HashSHA1   = "SHA1"
	HashSHA256 = "SHA256"
)

// IsSigningParam reports whether a query parameter name is one of the
// signing parameters: Expires, Signature, Key-Pair-Id, Policy,
// Hash-Algorithm. Names are compared exactly, as they appear in the raw
// query.
func IsSigningParam(name string) bool {
	switch name {
	case ParamExpires, ParamPolicy, ParamSignature, ParamKeyPairID, ParamHashAlgorithm:
		return true
	}
	return false
}

// StripQuery returns rawQuery without the signing parameters (Expires,
// Signature, Key-Pair-Id, Policy, Hash-Algorithm), keeping the other
// parameters in their original order and raw encoding. Empty segments
// ("a=1&&b=2") are kept too, so that the result is the query string the
// signer saw.
func StripQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(rawQuery))
	first := true
	for seg := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(seg, "=")
		if IsSigningParam(name) {
			continue
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(seg)
	}
	return b.String()
}

// cloudFrontEncoding is base64 with '+', '=' and '/' replaced by '-', '_'
// and '~', as CloudFront uses for policies and signatures.
var cfReplacer = strings.NewReplacer("+", "-", "=", "_", "/", "~")
var cfUnreplacer = strings.NewReplacer("-", "+", "_", "=", "~", "/")

// encodeB64 encodes b in CloudFront's base64.
func encodeB64(b []byte) string {
	return cfReplacer.Replace(base64.StdEncoding.EncodeToString(b))
}

// decodeB64 decodes CloudFront's base64; standard base64, with or without
// padding, is accepted too.
func decodeB64(s string) ([]byte, bool) {
	s = cfUnreplacer.Replace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// parseHash maps a Hash-Algorithm value to a hash; "" means SHA-1.
func parseHash(v string) (crypto.Hash, bool) {
	switch v {
	case "", HashSHA1:
		return crypto.SHA1, true
	case HashSHA256:
		return crypto.SHA256, true
	}
	return 0, false
}
