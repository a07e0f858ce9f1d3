package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/nettest"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestOpenUnreachable checks Open gives up within a few seconds on a server
// that refuses or never answers, with an error naming host:port and never
// the password.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	const password = "Sup3rS3cretPw"
	tests := []struct {
		name   string
		addr   string
		within time.Duration
	}{
		{"refused", closedPort(t), time.Second},
		{"silent", nettest.SilentServer(t), connectTimeout + 2*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := "postgres://osprey:" + password + "@" + tc.addr + "/osprey?sslmode=disable"
			start := time.Now()
			s, err := Open(context.Background(), u, discard)
			took := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("Open after %v: %v", took.Round(time.Millisecond), err)
			if took > tc.within {
				t.Errorf("Open took %v, want at most %v", took, tc.within)
			}
			if !strings.Contains(err.Error(), tc.addr) {
				t.Errorf("error %q does not name %s", err, tc.addr)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// TestOpenCanceled checks the caller's context bounds Open too.
func TestOpenCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, "postgres://osprey@"+nettest.SilentServer(t)+"/osprey?sslmode=disable", discard)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Open took %v after its context ended", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v, want an error wrapping context.DeadlineExceeded", err)
	}
}

// TestOpenBadURL checks malformed URLs fail without echoing the password.
func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	const password = "Sup3rS3cretPw"
	for _, u := range []string{
		"",
		"postgres://osprey:" + password + "@127.0.0.1:notaport/osprey",
		"postgres://osprey:" + password + "@127.0.0.1:5432/osprey?sslmode=bogus",
		"postgres://osprey:" + password + "@[::1/osprey",
		"host=127.0.0.1 password=" + password + " connect_timeout=abc",
	} {
		s, err := Open(context.Background(), u, discard)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("Open error %q contains the password", err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	base := errors.New("inner")
	tests := []struct {
		conn, msg, want string
	}{
		{"postgres://u:pw%21x@h/db", "bad pw!x and pw%21x", "bad xxxxx and xxxxx"},
		{"host=h password=abc123", "saw abc123", "saw xxxxx"},
		{"postgres://u@h/db", "no password here", "no password here"},
	}
	for _, tc := range tests {
		err := redact(errors.Join(errors.New(tc.msg), base), tc.conn)
		if got := err.Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("redact(%q) = %q, want %q…", tc.msg, got, tc.want)
		}
		if !errors.Is(err, base) {
			t.Errorf("redact(%q) lost the wrapped error", tc.msg)
		}
	}
}
