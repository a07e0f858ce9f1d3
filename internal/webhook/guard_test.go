package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// proxyChildEnv makes the test binary run proxyChild instead of the tests.
const proxyChildEnv = "OSPREY_WEBHOOK_PROXY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(proxyChildEnv) != "" {
		if err := proxyChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDeliveryGuard: a delivery to a loopback receiver is refused by the
// default client (nil Worker.Client) and by NewClient(false), with an
// attempt recorded that says why, and delivered with NewClient(true). A
// host name that resolves to a refused address (as with DNS rebinding,
// after CheckURL let the name through) is refused when dialled.
func TestDeliveryGuard(t *testing.T) {
	t.Parallel()
	rcv := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name      string
		url       string
		client    *http.Client
		delivered bool
	}{
		{"default client", srv.URL, nil, false},
		{"guarded client", srv.URL, NewClient(false), false},
		{"name resolving to loopback", byName, NewClient(false), false},
		{"private allowed", srv.URL, NewClient(true), true},
	}
	for _, tc := range tests {
		store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: tc.url + "/hook", Secret: "s"}}}
		w := &Worker{Store: store, Client: tc.client}
		rcv.mu.Lock()
		before := len(rcv.reqs)
		rcv.mu.Unlock()
		err := w.Work(context.Background(), newJob(testArgs(), 1))
		ds := store.recorded()
		if len(ds) != 1 {
			t.Fatalf("%s: %d attempts recorded", tc.name, len(ds))
		}
		rcv.mu.Lock()
		got := len(rcv.reqs) - before
		rcv.mu.Unlock()
		if tc.delivered {
			if err != nil || got != 1 || ds[0].StatusCode != http.StatusOK {
				t.Fatalf("%s: Work = %v, %d requests, recorded %+v; want delivered", tc.name, err, got, ds[0])
			}
			continue
		}
		if err == nil || got != 0 {
			t.Fatalf("%s: Work = %v with %d requests; want refused", tc.name, err, got)
		}
		if !strings.Contains(ds[0].Error, "is a loopback address") || !strings.Contains(ds[0].Error, "webhooks.allow_private_urls") {
			t.Errorf("%s: recorded error %q does not explain the refusal", tc.name, ds[0].Error)
		}
	}
}

// TestDeliveryNoRedirectToPrivate: a public-looking receiver that
// redirects is not followed (the redirect target is never dialled).
func TestDeliveryNoRedirectToPrivate(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: redir.URL, Secret: "s"}}}
	w := &Worker{Store: store, Client: &http.Client{}} // a client that would follow
	if err := w.Work(context.Background(), newJob(testArgs(), 1)); err == nil {
		t.Fatal("a redirect counted as delivered")
	}
	if hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestDeliveryIgnoresProxyEnv runs a delivery in a child process whose
// HTTP_PROXY and HTTPS_PROXY point at a recording proxy (net/http reads
// them once per process, hence the child): the proxy must see nothing.
func TestDeliveryIgnoresProxyEnv(t *testing.T) {
	t.Parallel()
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusOK) // "delivered", if the client used the proxy
	}))
	defer proxy.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), proxyChildEnv+"=1", "HTTP_PROXY="+proxy.URL, "HTTPS_PROXY="+proxy.URL,
		"http_proxy="+proxy.URL, "https_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("the proxy from the environment got %d requests", n)
	}
}

// proxyChild delivers to a name that does not resolve (RFC 6761 .invalid),
// with private addresses allowed so that the loopback proxy, if used,
// would be reachable: the delivery must fail on name resolution.
func proxyChild() error {
	store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: "http://hooks.osprey.invalid/hook", Secret: "s"}}}
	w := &Worker{Store: store, Client: NewClient(true)}
	err := w.Work(context.Background(), newJob(testArgs(), 1))
	if err == nil {
		return errors.New("delivered to an unresolvable host: through the proxy")
	}
	if ds := store.recorded(); len(ds) != 1 || ds[0].StatusCode != 0 {
		return fmt.Errorf("recorded %+v, want one attempt without a response", ds)
	}
	return nil
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		private bool   // allowPrivate
		want    string // "" accepted, else part of the error
	}{
		{"https://hooks.example.com/osprey", false, ""},
		{"http://93.184.216.34:8080/x", false, ""},
		{"https://localhost.example.com/", false, ""},
		{"http://localhost:9000/hook", false, "localhost is this machine"},
		{"http://LOCALHOST./hook", false, "this machine"},
		{"http://127.0.0.1:8080/hook", false, "127.0.0.1 is a loopback address"},
		{"http://[::1]/hook", false, "loopback"},
		{"http://[::ffff:10.0.0.1]/", false, "10.0.0.1 is a private address"},
		{"http://169.254.169.254/latest/meta-data/", false, "link-local"},
		{"http://[fd00:ec2::254]/", false, "private"},
		{"http://100.64.0.1/", false, "carrier-grade NAT"},
		{"http://192.168.1.10/hook", false, "webhooks.allow_private_urls"},
		{"http://127.0.0.1:8080/hook", true, ""},
		{"http://localhost/hook", true, ""},
		{"ftp://hooks.example.com/", false, "http:// or https://"},
		{"/relative", false, "http:// or https://"},
		{"http:///nohost", false, "must name a host"},
		{"http://%zz/", false, "not a valid URL"},
	}
	for _, tc := range tests {
		err := CheckURL(tc.url, tc.private)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckURL(%q, %v) = %v, want accepted", tc.url, tc.private, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckURL(%q, %v) = %v, want an error with %q", tc.url, tc.private, err, tc.want)
		}
	}
}
