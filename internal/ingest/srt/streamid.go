package srt

import (
	"errors"
	"fmt"
	"strings"

	gosrt "github.com/datarhei/gosrt"
)

// maxKeyLen bounds the stream keys passed to the handler.
const maxKeyLen = 256

// refusal is a reason to reject a connection request, with its SRT code.
type refusal struct {
	reason gosrt.RejectionReason
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func rejectReason(err error) gosrt.RejectionReason {
	if r, ok := errors.AsType[*refusal](err); ok {
		return r.reason
	}
	return gosrt.REJX_BAD_REQUEST
}

const streamIDHelp = `use streamid "publish:{key}" or "#!::r={key},m=publish"`

// parseStreamID extracts the stream key from an SRT stream id:
//
//	publish:{key}
//	#!::r={key},m=publish       (SRT access control; keys in any order)
//
// In the access-control form m defaults to "request" (play), which Osprey
// refuses like any mode but publish; u (user) and other keys are ignored.
func parseStreamID(sid string) (string, error) {
	var key string
	switch {
	case strings.HasPrefix(sid, "#!::"):
		mode := "request"
		for kv := range strings.SplitSeq(sid[len("#!::"):], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "r":
				key = v
			case "m":
				mode = v
			}
		}
		if mode != "publish" {
			return "", &refusal{gosrt.REJX_BAD_MODE, fmt.Errorf("mode %q is not supported: Osprey only takes publishers (m=publish)", truncate(mode, 32))}
		}
	case strings.HasPrefix(sid, "publish:"):
		key = sid[len("publish:"):]
	case sid == "":
		return "", &refusal{gosrt.REJX_BAD_REQUEST, errors.New("missing streamid: " + streamIDHelp)}
	default:
		if mode, _, ok := strings.Cut(sid, ":"); ok && (mode == "read" || mode == "play" || mode == "request") {
			return "", &refusal{gosrt.REJX_BAD_MODE, fmt.Errorf("mode %q is not supported: Osprey only takes publishers", mode)}
		}
		return "", &refusal{gosrt.REJX_BAD_REQUEST, errors.New("unrecognised streamid: " + streamIDHelp)}
	}
	switch {
	case key == "":
		return "", &refusal{gosrt.REJX_BAD_REQUEST, errors.New("missing stream key: " + streamIDHelp)}
	case len(key) > maxKeyLen:
		return "", &refusal{gosrt.REJX_BAD_REQUEST, fmt.Errorf("stream key longer than %d bytes", maxKeyLen)}
	}
	return key, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
