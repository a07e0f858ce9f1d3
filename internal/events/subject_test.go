package events_test

import (
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
)

func TestSubjectHelpers(t *testing.T) {
	for _, c := range []struct{ got, want, pattern string }{
		{events.ChannelKey("ch_1"), "osprey.channel.ch_1.key", events.AllChannelKeys},
		{events.ChannelState("ch_1"), "osprey.channel.ch_1.state", events.AllChannelStates},
		{events.AssetState("a_9"), "osprey.asset.a_9.state", events.AllAssetStates},
		{events.EdgeInvalidate("ch_1"), "osprey.edge.ch_1.invalidate", events.AllEdgeInvalid},
		{events.LivePart("ch_1"), "osprey.live.ch_1.part", events.All},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
		if err := events.ValidateSubject(c.got); err != nil {
			t.Errorf("ValidateSubject(%q): %v", c.got, err)
		}
		if !events.Match(c.pattern, c.got) {
			t.Errorf("Match(%q, %q) = false", c.pattern, c.got)
		}
	}
	if err := events.ValidateSubject(events.ChannelKey("")); err == nil {
		t.Error("empty channel ID accepted")
	}
	if err := events.ValidateSubject(events.ChannelKey("a.b")); err != nil {
		t.Errorf("dotted ID: %v", err) // valid, but a different token count
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"osprey.a", "osprey.a", true},
		{"osprey.a", "osprey.b", false},
		{"osprey.a", "osprey.a.b", false},
		{"osprey.a.b", "osprey.a", false},
		{"osprey.*", "osprey.a", true},
		{"osprey.*", "osprey.a.b", false},
		{"osprey.*.k", "osprey.a.k", true},
		{"osprey.*.k", "osprey.a.x", false},
		{"osprey.>", "osprey.a", true},
		{"osprey.>", "osprey.a.b.c", true},
		{"osprey.a.>", "osprey.a", false},
	} {
		if got := events.Match(c.pattern, c.subject); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {9, 25600 * time.Millisecond}, {10, 30 * time.Second}, {1000, 30 * time.Second}} {
		if got := events.Backoff(c.n); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

func TestIDOf(t *testing.T) {
	for subject, want := range map[string]string{
		events.ChannelKey("ch_1"):      "ch_1",
		events.AssetState("as_2"):      "as_2",
		events.EdgeInvalidate("inv_3"): "inv_3",
		"osprey.channel..key":          "",
		"osprey.channel.ch_1":          "",
		"other.channel.ch_1.key":       "",
		"osprey.channel.ch_1.key.x":    "",
	} {
		got, ok := events.IDOf(subject)
		if got != want || ok != (want != "") {
			t.Errorf("events.IDOf(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
}
