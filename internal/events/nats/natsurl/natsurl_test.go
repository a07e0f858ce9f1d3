package natsurl_test

import (
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/events/nats/natsurl"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want natsurl.Spec
	}{
		{"nats://127.0.0.1:4222", natsurl.Spec{Servers: "nats://127.0.0.1:4222"}},
		{"nats://a:4222, nats://b:4222", natsurl.Spec{Servers: "nats://a:4222,nats://b:4222"}},
		{"tls://u:pw@a:4222", natsurl.Spec{Servers: "tls://u:pw@a:4222"}},
		{"nats://a:4222?stream=OSPREY_PROD&subject_prefix=prod.eu&replicas=3,nats://b:4222,nats://c:4222",
			natsurl.Spec{Servers: "nats://a:4222,nats://b:4222,nats://c:4222", Stream: "OSPREY_PROD", SubjectPrefix: "prod.eu", Replicas: 3}},
		{"nats://a:4222/?replicas=1", natsurl.Spec{Servers: "nats://a:4222/", Replicas: 1}},
		{"nats://a:4222?", natsurl.Spec{Servers: "nats://a:4222"}},
		// the same options repeated identically on every URL
		{"nats://a:4222?stream=S&replicas=5,nats://b:4222?replicas=5&stream=S",
			natsurl.Spec{Servers: "nats://a:4222,nats://b:4222", Stream: "S", Replicas: 5}},
		// an option on a later URL only
		{"nats://a:4222,nats://b:4222?stream=S-2", natsurl.Spec{Servers: "nats://a:4222,nats://b:4222", Stream: "S-2"}},
		{"nats://a:4222?subject_prefix=t_1.osprey-prod", natsurl.Spec{Servers: "nats://a:4222", SubjectPrefix: "t_1.osprey-prod"}},
	}
	for _, tc := range tests {
		got, err := natsurl.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		mention []string // the error must name these
	}{
		{"", []string{"empty"}},
		{"redis://a:6379", []string{"server 1", "nats://HOST:PORT"}},
		{"nats://a:4222,http://b", []string{"server 2"}},
		{"nats://", []string{"server 1"}},
		{"nats://a:4222/osprey", []string{"no path"}},
		{"nats://a:4222?streams=X", []string{`"streams"`, "stream, subject_prefix, replicas"}},
		{"nats://a:4222?stream=A&stream=B", []string{"stream given 2 times"}},
		{"nats://a:4222?stream=A,nats://b:4222?stream=B", []string{"stream conflicts", `"A"`, `"B"`}},
		{"nats://a:4222?replicas=3,nats://b:4222?replicas=1", []string{"replicas conflicts"}},
		{"nats://a:4222?stream=", []string{"option stream", "empty"}},
		{"nats://a:4222?stream=my%20stream", []string{"option stream", "spaces"}},
		{"nats://a:4222?stream=osprey.prod", []string{"option stream", "."}},
		{"nats://a:4222?stream=OS*", []string{"option stream"}},
		{"nats://a:4222?stream=OS%3E", []string{"option stream"}},
		{"nats://a:4222?stream=a/b", []string{"option stream"}},
		{"nats://a:4222?stream=" + strings.Repeat("x", 256), []string{"option stream", "255"}},
		{"nats://a:4222?subject_prefix=", []string{"option subject_prefix", "empty"}},
		{"nats://a:4222?subject_prefix=prod.", []string{"option subject_prefix", "empty token"}},
		{"nats://a:4222?subject_prefix=.prod", []string{"option subject_prefix", "empty token"}},
		{"nats://a:4222?subject_prefix=a..b", []string{"option subject_prefix", "empty token"}},
		{"nats://a:4222?subject_prefix=prod.*", []string{"option subject_prefix", "'*'"}},
		{"nats://a:4222?subject_prefix=prod.%3E", []string{"option subject_prefix"}},
		{"nats://a:4222?subject_prefix=my%20prefix", []string{"option subject_prefix", "spaces"}},
		{"nats://a:4222?subject_prefix=%24JS", []string{"option subject_prefix", "'$'"}},
		{"nats://a:4222?replicas=0", []string{"option replicas", "1 to 5"}},
		{"nats://a:4222?replicas=6", []string{"option replicas", "1 to 5"}},
		{"nats://a:4222?replicas=three", []string{"option replicas"}},
		{"nats://a:4222?replicas=%zz", []string{"query does not parse"}},
	}
	for _, tc := range tests {
		_, err := natsurl.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		for _, m := range tc.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("Parse(%q) = %q; want it to mention %q", tc.in, err, m)
			}
		}
	}
}

// No error repeats a password, nor the value of a key that is not an
// option (it could be a misplaced secret).
func TestParseErrorsHideSecrets(t *testing.T) {
	for _, in := range []string{
		"nats://u:hunter2@a:4222/x",
		"redis://u:hunter2@a:6379",
		"nats://u:hunter2@a:4222?token=hunter2",
		"nats://u:hunter2@a:4222?replicas=9",
	} {
		_, err := natsurl.Parse(in)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error = %v; want an error without the secret", in, err)
		}
	}
}
