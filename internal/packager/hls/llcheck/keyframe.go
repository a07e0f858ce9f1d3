package llcheck

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"
)

// KeyframeParts reads a CMAF part or segment (optional styp, then
// moof+mdat pairs) with mp4ff and reports whether its first sample is a
// sync sample and whether any is.
func KeyframeParts(data []byte) (starts, holds bool, err error) {
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		return false, false, fmt.Errorf("decoding fragment: %w", err)
	}
	first := true
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			samples, err := frag.GetFullSamples(nil)
			if err != nil {
				return false, false, fmt.Errorf("reading samples: %w", err)
			}
			for _, s := range samples {
				if first {
					starts, first = s.IsSync(), false
				}
				holds = holds || s.IsSync()
			}
		}
	}
	if first {
		return false, false, errors.New("no samples")
	}
	return starts, holds, nil
}
