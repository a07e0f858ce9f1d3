package s3_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/nettest"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// TestNewFails: New checks the bucket is reachable, and its error names the
// endpoint and the bucket (what `osprey serve` prints before exiting) but
// never the secret key.
func TestNewFails(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	closedPort := closedAddr(t)
	silent := nettest.SilentServer(t)

	tests := []struct {
		name    string
		edit    func(*s3.Config)
		within  time.Duration
		mention []string
	}{
		{"wrong secret", func(c *s3.Config) { c.SecretAccessKey = "wrong-secret-123" }, 10 * time.Second,
			[]string{srv.Endpoint, bucket}},
		{"unknown access key", func(c *s3.Config) { c.AccessKeyID = "nobody" }, 10 * time.Second,
			[]string{srv.Endpoint, bucket}},
		{"missing bucket", func(c *s3.Config) { c.Bucket = "no-such-bucket" }, 10 * time.Second,
			[]string{srv.Endpoint, "no-such-bucket"}},
		{"nothing listening", func(c *s3.Config) { c.Endpoint = "http://" + closedPort }, 8 * time.Second,
			[]string{closedPort, bucket}},
		{"server never answers", func(c *s3.Config) {
			c.Endpoint = "http://" + silent
			c.CheckTimeout = time.Second
		}, 5 * time.Second, []string{silent, bucket}},
		{"not a URL", func(c *s3.Config) { c.Endpoint = "127.0.0.1:9" }, time.Second, []string{"http://"}},
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, time.Second, []string{"bucket"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.Config(bucket)
			tc.edit(&cfg)
			start := time.Now()
			s, err := s3.New(context.Background(), cfg)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("New succeeded (%v)", s)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if took > tc.within {
				t.Errorf("New took %v to fail, want under %v", took, tc.within)
			}
			msg := err.Error()
			for _, m := range tc.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
			if strings.Contains(msg, cfg.SecretAccessKey) || strings.Contains(cfg.String(), cfg.SecretAccessKey) {
				t.Errorf("the secret key appears in %q or in Config.String", msg)
			}
		})
	}
}

// closedAddr returns an address of 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
