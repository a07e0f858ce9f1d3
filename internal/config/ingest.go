package config

// Ingest configures the RTMP and SRT front door: connection caps and
// handshake deadlines shared by every ingest listener.
type Ingest struct{}

func defaultIngest() Ingest {
	return Ingest{}
}

// validate checks the ingest section; keys in errors start with "ingest.".
func (x Ingest) validate() []error {
	return nil
}
