package hls

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Delivery directive query parameters (rfc8216bis 6.2.5).
const (
	ParamMSN  = "_HLS_msn"
	ParamPart = "_HLS_part"
	ParamSkip = "_HLS_skip"
)

// Skip is the value of _HLS_skip.
type Skip int

// _HLS_skip values.
const (
	SkipNone Skip = iota // no _HLS_skip
	SkipYes              // YES: skip old segments
	SkipV2               // v2: skip old segments and old EXT-X-DATERANGE tags
)

// Directives are the delivery directives of a media playlist request.
type Directives struct {
	// MSN and Part are _HLS_msn and _HLS_part; HasMSN and HasPart say
	// whether each was given. HasPart implies HasMSN.
	MSN     uint64
	Part    uint64
	HasMSN  bool
	HasPart bool
	Skip    Skip
}

// Blocking reports whether the request is a blocking playlist reload.
func (d Directives) Blocking() bool { return d.HasMSN }

// ErrBadDirective is wrapped by every error of ParseDirectives: the
// request is malformed and is answered 400 Bad Request.
var ErrBadDirective = errors.New("bad delivery directive")

// DirectiveError is a malformed delivery directive.
type DirectiveError struct {
	Param  string // query parameter, e.g. "_HLS_msn"
	Value  string
	Reason string
}

func (e *DirectiveError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Param, e.Reason)
	}
	return fmt.Sprintf("%s=%q: %s", e.Param, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadDirective) hold.
func (e *DirectiveError) Unwrap() error { return ErrBadDirective }

// maxDecimalInteger is the longest decimal-integer (rfc8216bis 4.2): 20
// digits, up to 2^64-1.
const maxDecimalInteger = 20

// ParseDirectives reads _HLS_msn, _HLS_part and _HLS_skip from a request
// query. Other parameters, _HLS_ ones included, are ignored. Malformed
// directives return a *DirectiveError: a value given more than once or
// empty, a number that is not a decimal-integer, _HLS_part without _HLS_msn
// (6.2.5.2 asks 400 for it), or _HLS_skip other than YES or v2.
func ParseDirectives(q url.Values) (Directives, error) {
	var d Directives
	var err error
	if d.MSN, d.HasMSN, err = decimal(q, ParamMSN); err != nil {
		return Directives{}, err
	}
	if d.Part, d.HasPart, err = decimal(q, ParamPart); err != nil {
		return Directives{}, err
	}
	if d.HasPart && !d.HasMSN {
		return Directives{}, &DirectiveError{Param: ParamPart, Reason: "given without " + ParamMSN}
	}
	v, ok, err := single(q, ParamSkip)
	if err != nil || !ok {
		return d, err
	}
	switch v {
	case "YES":
		d.Skip = SkipYes
	case "v2":
		d.Skip = SkipV2
	default:
		return Directives{}, &DirectiveError{Param: ParamSkip, Value: v, Reason: "want YES or v2"}
	}
	return d, nil
}

func single(q url.Values, name string) (string, bool, error) {
	vs, ok := q[name]
	switch {
	case !ok:
		return "", false, nil
	case len(vs) != 1:
		return "", false, &DirectiveError{Param: name, Reason: "given more than once"}
	case vs[0] == "":
		return "", false, &DirectiveError{Param: name, Reason: "empty"}
	}
	return vs[0], true, nil
}

func decimal(q url.Values, name string) (uint64, bool, error) {
	v, ok, err := single(q, name)
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) > maxDecimalInteger {
		return 0, false, &DirectiveError{Param: name, Value: v, Reason: "not a decimal-integer"}
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false, &DirectiveError{Param: name, Value: v, Reason: "not a decimal-integer"}
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, &DirectiveError{Param: name, Value: v, Reason: "out of range"}
	}
	return n, true, nil
}

// Edge is where a live media playlist stands, as a blocking reload sees it.
type Edge struct {
	// OpenMSN is the media sequence number of the segment being produced:
	// every segment before it is complete and listed (or was).
	OpenMSN uint64
	// OpenParts is the number of parts of segment OpenMSN published so far.
	OpenParts int
	// LastParts is the number of parts of segment OpenMSN-1 (0 if it had
	// none or they are not known).
	LastParts int
	// PartTarget is the Part Target Duration (0 without parts).
	PartTarget time.Duration
	// Ended is set once the playlist has EXT-X-ENDLIST: directives are
	// then ignored (6.2.5.2).
	Ended bool
}

// Readiness is the answer to a blocking playlist reload.
type Readiness int

// Readiness values.
const (
	// Wait: hold the request until the edge moves (then ask again), or
	// until about three target durations have passed (then 503).
	Wait Readiness = iota
	// Ready: answer with the playlist now.
	Ready
	// TooFar: the request is further ahead than the spec lets a client ask
	// (6.2.5.2): answer 400 at once.
	TooFar
)

func (r Readiness) String() string {
	switch r {
	case Wait:
		return "wait"
	case Ready:
		return "ready"
	case TooFar:
		return "too far"
	}
	return "Readiness(" + strconv.Itoa(int(r)) + ")"
}

// AdvancePartLimit is how many parts past the last one a request may ask
// for (6.2.5.2): three divided by the part target in seconds when it is
// under a second, else 3.
func AdvancePartLimit(partTarget time.Duration) float64 {
	if partTarget > 0 && partTarget < time.Second {
		return 3 / partTarget.Seconds()
	}
	return 3
}

// Check decides a blocking reload (rfc8216bis 6.2.5.2) against the edge:
//   - without _HLS_msn, or once the playlist ended: Ready;
//   - _HLS_msn more than two past the last complete segment (OpenMSN+1), or
//     _HLS_part more than the Advance Part Limit past the last part: TooFar;
//   - _HLS_msn=M alone: Ready once segment M is complete (M < OpenMSN);
//   - _HLS_msn=M&_HLS_part=N: Ready once part N of M, or anything later,
//     is published. A part index past the last part of a complete segment
//     M asks for part 0 of M+1.
//
// A request for a segment long gone from the playlist is Ready: the
// playlist is served whole (6.2.5.2).
func (d Directives) Check(e Edge) Readiness {
	if !d.HasMSN || e.Ended {
		return Ready
	}
	m, open := d.MSN, e.OpenMSN
	if m > open && m-open > 1 {
		return TooFar
	}
	if d.HasPart && e.PartTarget > 0 && d.partsAhead(e) > AdvancePartLimit(e.PartTarget) {
		return TooFar
	}
	if m < open {
		if !d.HasPart || m+1 < open || d.Part < uint64(e.LastParts) {
			return Ready
		}
		// Past the last part of complete segment M: part 0 of M+1, the
		// open segment.
		m, d.Part = open, 0
	}
	if !d.HasPart || m > open {
		return Wait
	}
	if d.Part < uint64(e.OpenParts) {
		return Ready
	}
	return Wait
}

// partsAhead is how many parts the request is past the last published
// part, counting only what is known: past the open segment, the parts the
// open segment has yet to publish are not counted.
func (d Directives) partsAhead(e Edge) float64 {
	switch {
	case d.MSN < e.OpenMSN:
		return 0
	case d.MSN == e.OpenMSN:
		last := float64(e.OpenParts) - 1
		return float64(d.Part) - last
	default:
		return float64(d.Part) + 1
	}
}
