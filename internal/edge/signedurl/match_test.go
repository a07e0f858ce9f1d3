package signedurl

import (
	"net/url"
	"testing"
)

func TestStripQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1", "a=1"},
		{"a=1&Expires=5&Signature=x&Key-Pair-Id=K", "a=1"},
		{"Policy=p&b=%20x&Signature=s&a=1&Key-Pair-Id=K&Hash-Algorithm=SHA256", "b=%20x&a=1"},
		{"z=1&&y=2&Expires=1", "z=1&&y=2"},
		{"&Expires=1&Signature=s&Key-Pair-Id=K", ""},
		{"expires=1&signature=2", "expires=1&signature=2"}, // names are case-sensitive
		{"Expires", ""}, // a name without a value is still the name
		{"a=Expires&Expiresx=1", "a=Expires&Expiresx=1"},
		{"a+b=c+d&Signature=x", "a+b=c+d"},
	}
	for _, tt := range tests {
		if got := StripQuery(tt.in); got != tt.want {
			t.Errorf("StripQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsSigningParam(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"Expires", "Signature", "Key-Pair-Id", "Policy", "Hash-Algorithm"} {
		if !IsSigningParam(n) {
			t.Errorf("IsSigningParam(%q) = false", n)
		}
	}
	for _, n := range []string{"", "expires", "Key-Pair-ID", "policy", "X-Signature", "Signature "} {
		if IsSigningParam(n) {
			t.Errorf("IsSigningParam(%q) = true", n)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything at all", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"*.m4s", "x/y/z.m4s", true},
		{"*.m4s", "x/y/z.m4sx", false},
		{"https://e/*game*", "https://e/x_game_download.zip?l=1", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"**a", "a", true},
		{"?*", "", false},
		{"https://e/p?x=1", "https://e/p?x=1", true}, // '?' also matches a literal '?'
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestResourceMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, url string
		want         bool
	}{
		{"https://edge.example.com/vod/abc/*", "https://edge.example.com/vod/abc/x/y.m4s", true},
		{"https://edge.example.com/vod/abc/*", "https://edge.example.com/vod/abcd/x.m4s", false},
		{"https://EDGE.example.com/vod/*", "https://edge.EXAMPLE.com/vod/x", true},
		{"HTTPS://edge.example.com/vod/*", "https://edge.example.com/vod/x", true},
		{"https://edge.example.com/VOD/*", "https://edge.example.com/vod/x", false},
		{"http*://edge.example.com/*", "http://edge.example.com/a", true},
		{"http*://edge.example.com/*", "https://edge.example.com/a", true},
		{"*", "https://anything/at/all?q=1", true},
		{"https://edge.example.com/a.m3u8", "https://edge.example.com/a.m3u8?Expires=1&Signature=x&Key-Pair-Id=K", true},
		{"https://edge.example.com/a.m3u8", "https://edge.example.com/a.m3u8?v=2&Expires=1", false},
		{"https://edge.example.com/a%20b", "https://edge.example.com/a%20b", true},
		{"https://edge.example.com/a%2Fb", "https://edge.example.com/a%2Fb", true},
		{"https://edge.example.com:8443/x", "https://edge.example.com:8443/x", true},
		{"https://edge.example.com/x", "https://edge.example.com:8443/x", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := resourceMatches(tt.pattern, u); got != tt.want {
			t.Errorf("resourceMatches(%q, %q) = %v, want %v", tt.pattern, tt.url, got, tt.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	good := []struct {
		doc  string
		want parsedPolicy
	}{
		{`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10}}}]}`,
			parsedPolicy{resource: "r", lessThan: 10}},
		{` { "Statement" : [ { "Condition" : { "DateLessThan" : { "AWS:EpochTime" : 10 } , "DateGreaterThan":{"AWS:EpochTime":5}, "IpAddress":{"AWS:SourceIp":"10.1.2.3/8"} } } ] } `,
			parsedPolicy{anyResource: true, lessThan: 10, greaterThan: 5, hasGreater: true, hasIP: true}},
	}
	for _, g := range good {
		got, err := parsePolicy([]byte(g.doc))
		if err != nil {
			t.Fatalf("%s: %v", g.doc, err)
		}
		if got.resource != g.want.resource || got.anyResource != g.want.anyResource || got.lessThan != g.want.lessThan ||
			got.greaterThan != g.want.greaterThan || got.hasGreater != g.want.hasGreater || got.hasIP != g.want.hasIP {
			t.Errorf("%s: got %+v", g.doc, got)
		}
	}
	if p, _ := parsePolicy([]byte(good[1].doc)); p.sourceIP.String() != "10.0.0.0/8" {
		t.Errorf("source IP %v, want the masked 10.0.0.0/8", p.sourceIP)
	}
	bad := []string{
		``, `null`, `[]`, `{}`, `{"Statement":{}}`, `{"Statement":[]}`, `{"Statement":[null]}`,
		`{"Statement":[{"Resource":1,"Condition":{"DateLessThan":{"AWS:EpochTime":10}}}]}`,
		`{"Statement":[{"Resource":null,"Condition":{"DateLessThan":{"AWS:EpochTime":10}}}]}`,
		`{"Statement":[{"Resource":"r"}]}`,
		`{"Statement":[{"Resource":"r","Condition":null}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":1.5}}}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":1e9}}}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"aws:epochtime":10}}}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10},"IpAddress":{"AWS:SourceIp":5}}}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10},"IpAddress":{}}}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10}},"Effect":"Allow"}]}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10}}}],"Version":"2012-10-17"}`,
		`{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":10}}}]} trailing`,
	}
	for _, b := range bad {
		if p, err := parsePolicy([]byte(b)); err == nil {
			t.Errorf("parsePolicy(%s) = %+v, want an error", b, p)
		}
	}
}
