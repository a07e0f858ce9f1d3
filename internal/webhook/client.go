package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/netguard"
)

const dialTimeout = 10 * time.Second

// NewClient returns the HTTP client deliveries should use: every
// connection goes through the SSRF guard (no loopback, private,
// link-local, carrier-grade NAT, unique-local or metadata addresses,
// checked at dial time after name resolution, so DNS rebinding cannot slip
// past it) unless allowPrivate; no proxy from the environment; redirects
// are never followed (Worker also enforces that).
func NewClient(allowPrivate bool) *http.Client {
	return newClient(netguard.Guard{AllowPrivate: allowPrivate})
}

func newClient(g netguard.Guard) *http.Client {
	return &http.Client{
		Transport:     g.Transport(dialTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CheckURL checks a webhook URL when it is registered: an absolute http or
// https URL with a host, and, unless allowPrivate, not "localhost" nor a
// literal non-public address. Names are not resolved here (their answer
// may change): deliveries check the address they dial. The error is
// written for the API client (a 400).
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("url is not a valid URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return errors.New("url must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return errors.New("url must name a host")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	if err := (netguard.Guard{AllowPrivate: allowPrivate}).CheckHost(u.Hostname(), port); err != nil {
		return fmt.Errorf("url %w", blockedError(err))
	}
	return nil
}

// blockedError explains a refusal by the guard, or returns err unchanged.
func blockedError(err error) error {
	var b *netguard.BlockedError
	if !errors.As(err, &b) {
		return err
	}
	return fmt.Errorf("refused: %w; webhooks to non-public addresses are disabled "+
		"(set webhooks.allow_private_urls to allow them)", b)
}
