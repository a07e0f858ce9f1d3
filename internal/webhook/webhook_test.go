package webhook

import (
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	// 32 bytes base64url without padding: 43 characters.
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+43 || strings.ContainsAny(a, "+/=") {
		t.Fatalf("NewSecret = %q", a)
	}
}
