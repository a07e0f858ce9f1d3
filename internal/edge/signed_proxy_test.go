package edge

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// The viewer's address (a signed URL's IP condition) and scheme (its
// resource) come from X-Forwarded-For and X-Forwarded-Proto only when the
// peer is one of security.trusted_proxies, read as the front door reads
// them: a peer that is not listed (loopback and private peers included,
// and nobody by default) cannot claim another address or scheme; a
// listed proxy can.
func TestSignedURLsBelieveForwardedHeadersFromTrustedProxiesOnly(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := signedurl.NewKeySet()
	if err := keys.Add("K1", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	signer := signedurl.Signer{KeyPairID: "K1", Key: key}
	origin := newTestOrigin(t, staticHandler([]byte("secret video"), "max-age=600"))
	proxies := func(cidrs ...string) httpguard.TrustedProxies {
		var ps []netip.Prefix
		for _, c := range cidrs {
			ps = append(ps, netip.MustParsePrefix(c))
		}
		return httpguard.NewTrustedProxies(ps)
	}
	hour := time.Now().Add(time.Hour)

	for _, edge := range []struct {
		name    string
		trusted httpguard.TrustedProxies
		proxy   bool // the test's peer, 127.0.0.1, is a trusted proxy
	}{
		{"no trusted proxies (default)", httpguard.TrustedProxies{}, false},
		{"other proxies trusted", proxies("10.0.0.0/8", "192.168.0.0/16"), false},
		{"loopback trusted", proxies("127.0.0.0/8"), true},
	} {
		t.Run(edge.name, func(t *testing.T) {
			te := newTestEdge(t, Config{Verifier: &signedurl.Verifier{Keys: keys}, RequireSigned: []string{"/vod/*"},
				TrustedProxies: edge.trusted}, origin.URL)
			base := te.srv.URL
			sign := func(p signedurl.Policy) string {
				t.Helper()
				u, err := signer.SignURLWithPolicy(base+"/vod/a/1.m4s", p)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			viewerIP := sign(signedurl.Policy{Resource: base + "/vod/*", DateLessThan: hour, IPAddress: "203.0.113.0/24"})
			httpsOnly := sign(signedurl.Policy{Resource: "https://" + strings.TrimPrefix(base, "http://") + "/vod/*", DateLessThan: hour})
			ifProxy := func(yes, no string) string {
				if edge.proxy {
					return yes
				}
				return no
			}
			for _, tt := range []struct {
				name   string
				url    string
				header []string
				want   string // "ok" or the Cache-Status detail of the 403
			}{
				{"IP condition, from the peer's own address", viewerIP, nil, "signature-ip"},
				{"IP condition, X-Forwarded-For names the viewer", viewerIP, []string{"X-Forwarded-For", "203.0.113.7"}, ifProxy("ok", "signature-ip")},
				{"IP condition, a forged hop left of the real one", viewerIP, []string{"X-Forwarded-For", "203.0.113.7, 198.51.100.1"}, "signature-ip"},
				{"https resource over plain HTTP", httpsOnly, nil, "signature-wrong-resource"},
				{"https resource, X-Forwarded-Proto: https", httpsOnly, []string{"X-Forwarded-Proto", "https"}, ifProxy("ok", "signature-wrong-resource")},
			} {
				req, err := http.NewRequest(http.MethodGet, tt.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+1 < len(tt.header); i += 2 {
					req.Header.Set(tt.header[i], tt.header[i+1])
				}
				resp, err := viewerTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got := "ok"
				if resp.StatusCode != http.StatusOK {
					got = resp.Status
					if i := strings.Index(resp.Header.Get("Cache-Status"), "detail="); i >= 0 && resp.StatusCode == http.StatusForbidden {
						got = resp.Header.Get("Cache-Status")[i+len("detail="):]
					}
				}
				if got != tt.want {
					t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
				}
			}
		})
	}
}
