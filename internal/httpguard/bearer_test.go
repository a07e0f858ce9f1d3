package httpguard

import (
	"net/http/httptest"
	"testing"
)

func TestBearer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, header string
		want                 bool
	}{
		{"right token", "s3cret-token", "Bearer s3cret-token", true},
		{"scheme in any case", "s3cret-token", "bearer s3cret-token", true},
		{"spaces around the token", "s3cret-token", "Bearer   s3cret-token  ", true},
		{"wrong token", "s3cret-token", "Bearer s3cret-tokeN", false},
		{"prefix of the token", "s3cret-token", "Bearer s3cret", false},
		{"longer than the token", "s3cret-token", "Bearer s3cret-token2", false},
		{"no header", "s3cret-token", "", false},
		{"other scheme", "s3cret-token", "Basic s3cret-token", false},
		{"scheme only", "s3cret-token", "Bearer", false},
		{"empty token", "s3cret-token", "Bearer ", false},
		{"empty secret never matches", "", "Bearer ", false},
		{"empty secret, any token", "", "Bearer x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			b := NewBearer(tt.secret)
			if got := b.Authorized(r); got != tt.want {
				t.Errorf("Authorized(%q) with secret %q = %v, want %v", tt.header, tt.secret, got, tt.want)
			}
			if b.Enabled() != (tt.secret != "") {
				t.Errorf("Enabled = %v", b.Enabled())
			}
		})
	}
}

// Match itself hashes: the empty string never matches an empty secret.
func TestBearerMatchEmpty(t *testing.T) {
	t.Parallel()
	if NewBearer("").Match("") {
		t.Error("an empty secret matched an empty token")
	}
	if !NewBearer(" tok ").Match("tok") {
		t.Error("the secret's surrounding spaces were not ignored")
	}
}
