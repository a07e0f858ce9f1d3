package config

// Webhooks configures the delivery of webhook events.
type Webhooks struct{}

func defaultWebhooks() Webhooks {
	return Webhooks{}
}

// validate checks the webhooks section; keys in errors start with "webhooks.".
func (x Webhooks) validate() []error {
	return nil
}
