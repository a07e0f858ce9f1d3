package hls

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		query   string
		want    Directives
		badWhat string // the parameter a *DirectiveError names, "" when valid
	}{
		{"", Directives{}, ""},
		{"foo=1&_HLS_pathway=x", Directives{}, ""},
		{"_HLS_msn=42", Directives{MSN: 42, HasMSN: true}, ""},
		{"_HLS_msn=42&_HLS_part=0", Directives{MSN: 42, HasMSN: true, HasPart: true}, ""},
		{"_HLS_msn=007&_HLS_part=3&_HLS_skip=YES", Directives{MSN: 7, Part: 3, HasMSN: true, HasPart: true, Skip: SkipYes}, ""},
		{"_HLS_skip=v2", Directives{Skip: SkipV2}, ""},
		{"_HLS_msn=18446744073709551615", Directives{MSN: 1<<64 - 1, HasMSN: true}, ""},
		{"_HLS_part=1", Directives{}, ParamPart},
		{"_HLS_msn=", Directives{}, ParamMSN},
		{"_HLS_msn=-1", Directives{}, ParamMSN},
		{"_HLS_msn=+1", Directives{}, ParamMSN},
		{"_HLS_msn=1.0", Directives{}, ParamMSN},
		{"_HLS_msn=0x10", Directives{}, ParamMSN},
		{"_HLS_msn=%201", Directives{}, ParamMSN},
		{"_HLS_msn=18446744073709551616", Directives{}, ParamMSN},
		{"_HLS_msn=000000000000000000001", Directives{}, ParamMSN},
		{"_HLS_msn=1&_HLS_msn=2", Directives{}, ParamMSN},
		{"_HLS_msn=1&_HLS_part=x", Directives{}, ParamPart},
		{"_HLS_msn=1&_HLS_part=1&_HLS_part=1", Directives{}, ParamPart},
		{"_HLS_skip=yes", Directives{}, ParamSkip},
		{"_HLS_skip=NO", Directives{}, ParamSkip},
		{"_HLS_skip=", Directives{}, ParamSkip},
		{"_HLS_msn=3&_HLS_skip=V2", Directives{}, ParamSkip},
	}
	for _, tc := range tests {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseDirectives(q)
		if tc.badWhat == "" {
			if err != nil || got != tc.want {
				t.Errorf("%q: %+v, %v; want %+v", tc.query, got, err, tc.want)
			}
			continue
		}
		var de *DirectiveError
		if !errors.As(err, &de) || !errors.Is(err, ErrBadDirective) || de.Param != tc.badWhat || got != (Directives{}) {
			t.Errorf("%q: %+v, %v; want a DirectiveError on %s", tc.query, got, err, tc.badWhat)
		}
	}
}

func TestDirectivesCheck(t *testing.T) {
	// Segment 20 is being produced with 2 parts; segment 19 had 5.
	edge := Edge{OpenMSN: 20, OpenParts: 2, LastParts: 5, PartTarget: 200 * time.Millisecond}
	msn := func(m uint64) Directives { return Directives{MSN: m, HasMSN: true} }
	part := func(m, n uint64) Directives { return Directives{MSN: m, Part: n, HasMSN: true, HasPart: true} }
	ended := edge
	ended.Ended = true
	noParts := Edge{OpenMSN: 20}
	starting := Edge{PartTarget: 200 * time.Millisecond}
	tests := []struct {
		name string
		d    Directives
		e    Edge
		want Readiness
	}{
		{"no directive", Directives{Skip: SkipYes}, edge, Ready},
		{"complete segment", msn(19), edge, Ready},
		{"segment gone from the window", msn(1), edge, Ready},
		{"open segment", msn(20), edge, Wait},
		{"segment after the open one", msn(21), edge, Wait},
		{"more than two past the last complete segment", msn(22), edge, TooFar},
		{"far ahead", msn(1 << 60), edge, TooFar},
		{"published part", part(20, 1), edge, Ready},
		{"next part", part(20, 2), edge, Wait},
		{"part of a complete segment", part(19, 4), edge, Ready},
		{"past the last part of 19: part 0 of 20, published", part(19, 5), edge, Ready},
		{"past the last part of 19, nothing of 20 yet", part(19, 5), Edge{OpenMSN: 20, LastParts: 5, PartTarget: 200 * time.Millisecond}, Wait},
		{"past the last part of an older segment", part(18, 9), edge, Ready},
		{"part 0 of the next segment", part(21, 0), edge, Wait},
		// Advance Part Limit at 0.2 s: 15 parts.
		{"15 parts ahead", part(20, 16), edge, Wait},
		{"16 parts ahead", part(20, 17), edge, TooFar},
		{"next segment, part 14", part(21, 14), edge, Wait},
		{"next segment, part 15", part(21, 15), edge, TooFar},
		{"ended: directives ignored", msn(90), ended, Ready},
		{"no parts: part directives wait for segments", part(19, 0), noParts, Wait},
		{"no parts: a later segment", part(18, 0), noParts, Ready},
		{"no parts: limit off", part(20, 1000), noParts, Wait},
		{"nothing produced yet", msn(0), starting, Wait},
		{"first part of the first segment", part(0, 0), Edge{OpenParts: 1, PartTarget: 200 * time.Millisecond}, Ready},
		{"nothing produced yet, too far", msn(2), starting, TooFar},
	}
	for _, tc := range tests {
		if got := tc.d.Check(tc.e); got != tc.want {
			t.Errorf("%s: %+v on %+v = %v, want %v", tc.name, tc.d, tc.e, got, tc.want)
		}
	}
}

func TestAdvancePartLimit(t *testing.T) {
	for _, tc := range []struct {
		pt   time.Duration
		want float64
	}{{200 * time.Millisecond, 15}, {500 * time.Millisecond, 6}, {time.Second, 3}, {2 * time.Second, 3}, {0, 3}} {
		if got := AdvancePartLimit(tc.pt); got != tc.want {
			t.Errorf("AdvancePartLimit(%v) = %v, want %v", tc.pt, got, tc.want)
		}
	}
}

// FuzzParseDirectives feeds arbitrary queries: a result is either an
// error wrapping ErrBadDirective, or directives that write back to a query
// parsing to the same directives.
func FuzzParseDirectives(f *testing.F) {
	for _, s := range []string{"", "_HLS_msn=1", "_HLS_msn=12&_HLS_part=3&_HLS_skip=YES", "_HLS_part=1", "_HLS_skip=v2",
		"_HLS_msn=18446744073709551616", "_HLS_msn=%zz", "_HLS_msn=1&_HLS_msn=1", "a=b;c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		d, err := ParseDirectives(q)
		if err != nil {
			if !errors.Is(err, ErrBadDirective) || d != (Directives{}) {
				t.Fatalf("%q: %+v, %v", raw, d, err)
			}
			return
		}
		if d.HasPart && !d.HasMSN {
			t.Fatalf("%q: part without msn: %+v", raw, d)
		}
		back := url.Values{}
		if d.HasMSN {
			back.Set(ParamMSN, strconv.FormatUint(d.MSN, 10))
		}
		if d.HasPart {
			back.Set(ParamPart, strconv.FormatUint(d.Part, 10))
		}
		switch d.Skip {
		case SkipYes:
			back.Set(ParamSkip, "YES")
		case SkipV2:
			back.Set(ParamSkip, "v2")
		}
		again, err := ParseDirectives(back)
		if err != nil || again != d {
			t.Fatalf("%q: %+v, then %+v, %v", raw, d, again, err)
		}
		_ = d.Check(Edge{OpenMSN: d.MSN, OpenParts: int(d.Part % 7), PartTarget: 200 * time.Millisecond})
	})
}
