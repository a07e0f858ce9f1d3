package catalog

import (
	"regexp"
	"testing"
)

func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^as_[a-z2-7]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID("as_")
		if !shape.MatchString(id) {
			t.Fatalf("NewID = %q, want as_ + 16 lowercase base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	if got := RandomString(20); len(got) != 32 {
		t.Errorf("RandomString(20) has %d characters, want 32", len(got))
	}
}
