package manifest

import "testing"

func TestLanguageName(t *testing.T) {
	for _, tc := range []struct{ tag, want string }{{"en", "English"}, {"fr-CA", "French (fr-CA)"}, {"EN", "English"}, {"tlh", "tlh"}, {"", ""}} {
		if got := LanguageName(tc.tag); got != tc.want {
			t.Errorf("LanguageName(%q) = %q, want %q", tc.tag, got, tc.want)
		}
	}
}
