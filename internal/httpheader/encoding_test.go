package httpheader

import (
	"net/http"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ae   []string
		want bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"br, gzip;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"identity"}, false},
		{[]string{"br", "deflate"}, false},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"br, *;q=0.1"}, true},
	}
	for _, tc := range tests {
		h := http.Header{}
		for _, v := range tc.ae {
			h.Add("Accept-Encoding", v)
		}
		if got := AcceptsGzip(h); got != tc.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", tc.ae, got, tc.want)
		}
	}
}
