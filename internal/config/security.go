package config

// Security configures the HTTP front door: TLS, rate limits, size limits
// and access rules.
type Security struct{}

func defaultSecurity() Security {
	return Security{}
}

// validate checks the security section; keys in errors start with "security.".
func (x Security) validate() []error {
	return nil
}
