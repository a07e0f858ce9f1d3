package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVODUploadExpiry(t *testing.T) {
	t.Parallel()
	if got := Default().VOD.UploadExpiry; got != 24*time.Hour {
		t.Fatalf("default vod.upload_expiry = %s, want 24h", got)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string // "" means valid
	}{
		{time.Minute, ""},
		{24 * time.Hour, ""},
		{59 * time.Second, "vod.upload_expiry: must be between 1m and 8760h"},
		{0, "vod.upload_expiry"},
		{366 * 24 * time.Hour, "vod.upload_expiry"},
	} {
		c := Default()
		c.VOD.UploadExpiry = tt.d
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.d, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.d, err, tt.want)
		}
	}
}

func TestVODUploadExpiryFromYAML(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(p, []byte("vod:\n  upload_expiry: 2h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.VOD.UploadExpiry != 2*time.Hour {
		t.Fatalf("vod.upload_expiry = %s, want 2h", c.VOD.UploadExpiry)
	}
}
