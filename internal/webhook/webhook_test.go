package webhook

import (
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1","type":"asset.ready"}`)
	sig := Sign("whsec_k", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("Sign = %q, want sha256= and 64 hex digits", sig)
	}
	tests := []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"valid", "whsec_k", sig, body, true},
		{"other secret", "whsec_x", sig, body, false},
		{"changed body", "whsec_k", sig, append([]byte(" "), body...), false},
		{"no prefix", "whsec_k", strings.TrimPrefix(sig, "sha256="), body, false},
		{"other algorithm", "whsec_k", "sha1=" + strings.TrimPrefix(sig, "sha256="), body, false},
		{"not hex", "whsec_k", "sha256=zz", body, false},
		{"truncated", "whsec_k", sig[:len(sig)-2], body, false},
		{"empty", "whsec_k", "", body, false},
	}
	for _, tc := range tests {
		if got := Verify(tc.secret, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
	const want = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := Sign("Jefe", []byte("what do ya want for nothing?")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

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
