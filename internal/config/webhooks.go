package config

// Webhooks configures the delivery of webhook events.
type Webhooks struct {
	// AllowPrivateURLs lets webhooks be registered for, and delivered to,
	// loopback, private, link-local, carrier-grade NAT and unique-local
	// addresses (off: a webhook cannot be used to reach the server's own
	// network, SSRF). Turn it on when the receivers live on the private
	// network. Default false.
	AllowPrivateURLs bool `yaml:"allow_private_urls"`
}

func defaultWebhooks() Webhooks {
	return Webhooks{}
}

// validate checks the webhooks section; keys in errors start with "webhooks.".
// A boolean has no invalid value.
func (x Webhooks) validate() []error {
	return nil
}
