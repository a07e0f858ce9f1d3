package config

import "testing"

func TestWebhooksConfig(t *testing.T) {
	t.Parallel()
	if Default().Webhooks.AllowPrivateURLs {
		t.Fatal("webhooks.allow_private_urls is on by default")
	}
	cfg, err := Load(writeFile(t, "webhooks:\n  allow_private_urls: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Webhooks.AllowPrivateURLs {
		t.Fatal("webhooks.allow_private_urls: true was not read")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if _, err := Load(writeFile(t, "webhooks:\n  allow_private: true\n")); err == nil {
		t.Fatal("an unknown webhooks key was accepted")
	}
}
