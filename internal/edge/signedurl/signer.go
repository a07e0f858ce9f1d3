package signedurl

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signer creates signed URLs and cookies (for `osprey sign-url`, for tests
// and for users without the AWS SDK). Its SHA-1 output is byte for byte the
// AWS SDK for Go's.
type Signer struct {
	KeyPairID string
	Key       *rsa.PrivateKey
	Hash      crypto.Hash // crypto.SHA1 (default when 0) or crypto.SHA256
}

// SignURL signs rawURL with a canned policy expiring at expires (rounded
// down to the second). rawURL must be an absolute http or https URL
// without signing parameters; they are appended to it.
func (s Signer) SignURL(rawURL string, expires time.Time) (string, error) {
	if err := checkSignURL(rawURL); err != nil {
		return "", err
	}
	if expires.IsZero() {
		return "", errors.New("signing URL: no expiry time")
	}
	sig, err := s.sign(cannedPolicy(rawURL, expires.Unix()))
	if err != nil {
		return "", err
	}
	return s.appendParams(rawURL, ParamExpires+"="+strconv.FormatInt(expires.Unix(), 10), sig), nil
}

// SignURLWithPolicy signs rawURL with the custom policy p; an empty
// p.Resource means rawURL itself.
func (s Signer) SignURLWithPolicy(rawURL string, p Policy) (string, error) {
	if err := checkSignURL(rawURL); err != nil {
		return "", err
	}
	if p.Resource == "" {
		p.Resource = rawURL
	}
	doc, err := p.encode()
	if err != nil {
		return "", fmt.Errorf("signing URL: %w", err)
	}
	sig, err := s.sign(doc)
	if err != nil {
		return "", err
	}
	return s.appendParams(rawURL, ParamPolicy+"="+encodeB64(doc), sig), nil
}

// SignCookies returns signed cookies for the custom policy p (whose
// Resource is required: "*" grants everything the key may sign for). The
// cookies have Path=/ and HttpOnly; set Domain, Secure and SameSite as the
// site needs.
func (s Signer) SignCookies(p Policy) ([]*http.Cookie, error) {
	if p.Resource == "" {
		return nil, errors.New(`signing cookies: the policy needs a resource (a URL, possibly with * and ? wildcards; "*" for all)`)
	}
	doc, err := p.encode()
	if err != nil {
		return nil, fmt.Errorf("signing cookies: %w", err)
	}
	sig, err := s.sign(doc)
	if err != nil {
		return nil, err
	}
	return s.cookies(CookiePolicy, encodeB64(doc), sig), nil
}

// SignCannedCookies returns signed cookies with a canned policy: they grant
// exactly the URL resource (without signing parameters) until expires.
func (s Signer) SignCannedCookies(resource string, expires time.Time) ([]*http.Cookie, error) {
	if err := checkSignURL(resource); err != nil {
		return nil, err
	}
	if expires.IsZero() {
		return nil, errors.New("signing cookies: no expiry time")
	}
	sig, err := s.sign(cannedPolicy(resource, expires.Unix()))
	if err != nil {
		return nil, err
	}
	return s.cookies(CookieExpires, strconv.FormatInt(expires.Unix(), 10), sig), nil
}

// sign returns the CloudFront-base64 RSA PKCS #1 v1.5 signature of doc.
func (s Signer) sign(doc []byte) (string, error) {
	if s.Key == nil {
		return "", errors.New("signing: no private key")
	}
	if err := checkKeyID(s.KeyPairID); err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	h, err := s.hash()
	if err != nil {
		return "", err
	}
	d := h.New()
	d.Write(doc)
	sig, err := rsa.SignPKCS1v15(nil, s.Key, h, d.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return encodeB64(sig), nil
}

func (s Signer) hash() (crypto.Hash, error) {
	switch s.Hash {
	case 0, crypto.SHA1:
		return crypto.SHA1, nil
	case crypto.SHA256:
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("signing: hash %v is not supported; use crypto.SHA1 or crypto.SHA256", s.Hash)
}

// appendParams adds the policy parameter, Signature, Key-Pair-Id and, for
// SHA-256, Hash-Algorithm to rawURL, as the AWS SDK does ('&' if rawURL
// already has a '?').
func (s Signer) appendParams(rawURL, policyParam, sig string) string {
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	out := rawURL + sep + policyParam + "&" + ParamSignature + "=" + sig + "&" + ParamKeyPairID + "=" + s.KeyPairID
	if s.Hash == crypto.SHA256 {
		out += "&" + ParamHashAlgorithm + "=" + HashSHA256
	}
	return out
}

func (s Signer) cookies(policyName, policyValue, sig string) []*http.Cookie {
	mk := func(name, value string) *http.Cookie {
		return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true}
	}
	out := []*http.Cookie{mk(policyName, policyValue), mk(CookieSignature, sig), mk(CookieKeyPairID, s.KeyPairID)}
	if s.Hash == crypto.SHA256 {
		out = append(out, mk(CookieHashAlgorithm, HashSHA256))
	}
	return out
}

// checkSignURL accepts absolute http(s) URLs without fragment, non-ASCII
// characters or signing parameters.
func checkSignURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("signing %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("signing %q: need an absolute http:// or https:// URL", rawURL)
	}
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return fmt.Errorf("signing %q: a URL to sign cannot have a #fragment", rawURL)
	}
	for i := 0; i < len(rawURL); i++ {
		if c := rawURL[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("signing %q: percent-encode spaces, control and non-ASCII characters first", rawURL)
		}
	}
	for seg := range strings.SplitSeq(u.RawQuery, "&") {
		if name, _, _ := strings.Cut(seg, "="); IsSigningParam(name) {
			return fmt.Errorf("signing %q: it already has the signing parameter %s", rawURL, name)
		}
	}
	return nil
}

// ParsePrivateKeyPEM reads an RSA private key from PEM: "RSA PRIVATE KEY"
// (PKCS #1) or "PRIVATE KEY" (PKCS #8). Other blocks before it are skipped;
// encrypted keys are refused.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no RSA PRIVATE KEY or PRIVATE KEY PEM block found")
		}
		var key *rsa.PrivateKey
		switch block.Type {
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("the private key is encrypted; decrypt it first (openssl pkey -in enc.pem -out key.pem)")
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing RSA PRIVATE KEY: %w", err)
			}
			key = k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing PRIVATE KEY: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the private key is %T; CloudFront-compatible signing needs RSA", k)
			}
			key = rk
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; decrypt it first (openssl pkey -in enc.pem -out key.pem)")
		default:
			continue
		}
		if bits := key.N.BitLen(); bits < MinKeyBits {
			return nil, fmt.Errorf("the RSA key has %d bits; at least %d are needed", bits, MinKeyBits)
		}
		return key, nil
	}
}
