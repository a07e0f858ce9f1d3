package cli

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// signURLCmd signs URLs or makes signed cookies the way CloudFront's
// signers do, for an edge that trusts the key pair's public key.
type signURLCmd struct {
	KeyPairID      string        `name:"key-pair-id" required:"" env:"OSPREY_KEY_PAIR_ID" placeholder:"ID" help:"Key pair id the edge trusts the public key under (its --trusted-key ID=PATH.pem)."`
	PrivateKey     string        `name:"private-key" required:"" env:"OSPREY_PRIVATE_KEY" type:"path" placeholder:"FILE.pem" help:"RSA private key, PEM (PKCS #1 or PKCS #8, unencrypted)."`
	Expires        time.Duration `name:"expires" placeholder:"DURATION" help:"How long the URL stays valid, from now (default 1h)."`
	ExpiresAt      string        `name:"expires-at" placeholder:"RFC3339" help:"When the URL expires, e.g. 2026-11-21T10:00:00Z (instead of --expires)."`
	PolicyResource string        `name:"policy-resource" placeholder:"PATTERN" help:"Sign a custom policy for this resource; * matches any run of characters, ? one character (e.g. https://edge.example.com/vod/abc/*)."`
	IP             string        `name:"ip" placeholder:"CIDR" help:"Only clients in this range (or with this address) may use it; custom policy."`
	NotBefore      string        `name:"not-before" placeholder:"DURATION|RFC3339" help:"Not valid before this time: a duration from now (--not-before=-5m) or an RFC 3339 time; custom policy."`
	SHA256         bool          `name:"sha256" help:"Sign with RSA-SHA256 (adds Hash-Algorithm=SHA256) instead of RSA-SHA1."`
	Cookies        bool          `name:"cookies" help:"Print Set-Cookie header lines (CloudFront-* signed cookies) instead of a URL."`
	URL            string        `arg:"" optional:"" name:"url" help:"Absolute http(s) URL to sign, without signing parameters (optional with --cookies --policy-resource)."`
}

func (c *signURLCmd) Run(env *runEnv) error {
	now := time.Now()
	p, err := c.policy(now)
	if err != nil {
		return usageError{err}
	}
	data, err := os.ReadFile(c.PrivateKey)
	if err != nil {
		return fmt.Errorf("reading --private-key: %w", err)
	}
	key, err := signedurl.ParsePrivateKeyPEM(data)
	if err != nil {
		return usageError{fmt.Errorf("--private-key %s: %w", c.PrivateKey, err)}
	}
	s := signedurl.Signer{KeyPairID: c.KeyPairID, Key: key}
	if c.SHA256 {
		s.Hash = crypto.SHA256
	}
	custom := c.PolicyResource != "" || c.IP != "" || c.NotBefore != ""

	var signedURL string
	var cookies []*http.Cookie
	switch {
	case c.Cookies && custom:
		if p.Resource == "" {
			p.Resource = c.URL
		}
		cookies, err = s.SignCookies(p)
	case c.Cookies:
		cookies, err = s.SignCannedCookies(c.URL, p.DateLessThan)
	case custom:
		signedURL, err = s.SignURLWithPolicy(c.URL, p)
	default:
		signedURL, err = s.SignURL(c.URL, p.DateLessThan)
	}
	if err != nil {
		return usageError{err}
	}
	if err := c.selfCheck(key, p, signedURL, cookies); err != nil {
		return err
	}
	if !c.Cookies {
		_, err := fmt.Fprintln(env.stdout, signedURL)
		return err
	}
	for _, ck := range cookies {
		if _, err := fmt.Fprintf(env.stdout, "Set-Cookie: %s\n", ck.String()); err != nil {
			return err
		}
	}
	return nil
}

// policy checks the flags and returns the policy they describe; Resource
// is left empty for the signer to default to the URL.
func (c *signURLCmd) policy(now time.Time) (signedurl.Policy, error) {
	var p signedurl.Policy
	if c.URL == "" && !(c.Cookies && c.PolicyResource != "") {
		return p, errors.New("give the URL to sign (only --cookies with --policy-resource can do without)")
	}
	switch {
	case c.ExpiresAt != "" && c.Expires != 0:
		return p, errors.New("--expires and --expires-at can't be used together")
	case c.ExpiresAt != "":
		t, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return p, fmt.Errorf("--expires-at %q is not an RFC 3339 time like 2026-11-21T10:00:00Z", c.ExpiresAt)
		}
		p.DateLessThan = t
	case c.Expires < 0:
		return p, fmt.Errorf("--expires %s must be positive", c.Expires)
	case c.Expires == 0:
		p.DateLessThan = now.Add(time.Hour)
	default:
		p.DateLessThan = now.Add(c.Expires)
	}
	if p.DateLessThan.Unix() <= now.Unix() {
		return p, fmt.Errorf("the URL would expire at %s, which is not in the future", p.DateLessThan.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != "" {
		if d, err := time.ParseDuration(c.NotBefore); err == nil {
			p.DateGreaterThan = now.Add(d)
		} else if t, err := time.Parse(time.RFC3339, c.NotBefore); err == nil {
			p.DateGreaterThan = t
		} else {
			return p, fmt.Errorf("--not-before %q is neither a duration (10m, -5m) nor an RFC 3339 time", c.NotBefore)
		}
		if p.DateGreaterThan.Unix() >= p.DateLessThan.Unix() {
			return p, fmt.Errorf("--not-before %s is not before the expiry %s", p.DateGreaterThan.UTC().Format(time.RFC3339), p.DateLessThan.UTC().Format(time.RFC3339))
		}
	}
	if c.IP != "" {
		if _, err := netip.ParsePrefix(c.IP); err != nil {
			if _, err := netip.ParseAddr(c.IP); err != nil {
				return p, fmt.Errorf("--ip %q is not an IP address or CIDR range like 192.0.2.0/24", c.IP)
			}
		}
		p.IPAddress = c.IP
	}
	p.Resource = c.PolicyResource
	return p, nil
}

// selfCheck verifies what was signed, as an edge would, so that a
// --policy-resource that does not cover the URL is caught here rather than
// by a viewer.
func (c *signURLCmd) selfCheck(key *rsa.PrivateKey, p signedurl.Policy, signedURL string, cookies []*http.Cookie) error {
	target := signedURL
	if c.Cookies {
		target = c.URL
	}
	if target == "" {
		return nil // cookies for a pattern, with no URL to try
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("checking the result: %w", err)
	}
	ks := signedurl.NewKeySet()
	if err := ks.Add(c.KeyPairID, &key.PublicKey); err != nil {
		return usageError{err}
	}
	at := time.Now()
	if !p.DateGreaterThan.IsZero() && !at.After(p.DateGreaterThan) {
		at = p.DateGreaterThan.Add(time.Second)
	}
	var ip netip.Addr
	if pfx, err := netip.ParsePrefix(c.IP); err == nil {
		ip = pfx.Addr()
	} else if a, err := netip.ParseAddr(c.IP); err == nil {
		ip = a
	}
	v := signedurl.Verifier{Keys: ks, Now: func() time.Time { return at }}
	err = v.Verify(u, ip, cookies)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, signedurl.ErrWrongResource):
		return usageError{fmt.Errorf("--policy-resource %s does not cover %s", c.PolicyResource, c.URL)}
	default:
		return fmt.Errorf("the signed result does not verify: %w", err)
	}
}
