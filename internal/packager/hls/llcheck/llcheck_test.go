package llcheck

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
)

// text writes, by hand rather than with package hls, a valid LL playlist
// of segments first..first+n-1 (one second, 5 parts of 0.2 s on the last
// two), with open parts of the next segment and a rendition report.
func text(first, n, open int, report string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n"+
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600\n"+
		"#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n"+
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init-1.mp4\"\n", first)
	parts := func(msn, k int) {
		for i := range k {
			ind := ""
			if i == 0 {
				ind = ",INDEPENDENT=YES"
			}
			fmt.Fprintf(&b, "#EXT-X-PART:DURATION=0.200,URI=\"%d.%d.m4s\"%s\n", msn, i, ind)
		}
	}
	for i := range n {
		msn := first + i
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:%02d.000Z\n", msn%60)
		if i >= n-2 {
			parts(msn, 5)
		}
		fmt.Fprintf(&b, "#EXTINF:1.000,\n%d.m4s\n", msn)
	}
	next := first + n
	parts(next, open)
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%d.%d.m4s\"\n", next, open)
	if report != "" {
		last, part := next, open-1
		if open == 0 {
			last, part = next-1, 4
		}
		fmt.Fprintf(&b, "#EXT-X-RENDITION-REPORT:URI=%q,LAST-MSN=%d,LAST-PART=%d\n", report, last, part)
	}
	return b.String()
}

// replace returns s with old replaced by new, failing if old is absent.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in:\n%s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

func TestMedia(t *testing.T) {
	good := text(10, 9, 2, "../audio/index.m3u8")
	ended := strings.Replace(good, "#EXT-X-PRELOAD-HINT", "#EXT-X-ENDLIST\n#EXT-X-PRELOAD-HINT", 1)
	tests := []struct {
		name string
		text string
		want string // in the error; "" for none
	}{
		{"valid", good, ""},
		{"no open parts", text(10, 9, 0, ""), ""},
		{"part longer than PART-TARGET", replace(t, good, `DURATION=0.200,URI="18.2.m4s"`, `DURATION=0.201,URI="18.2.m4s"`), "more than PART-TARGET"},
		{"short part in the middle", replace(t, good, `DURATION=0.200,URI="18.2.m4s"`, `DURATION=0.150,URI="18.2.m4s"`), "less than 85%"},
		{"short last part of a segment", replace(t, good, `DURATION=0.200,URI="18.4.m4s"`, `DURATION=0.150,URI="18.4.m4s"`), ""},
		{"short independent part", replace(t, good, `DURATION=0.200,URI="18.0.m4s"`, `DURATION=0.150,URI="18.0.m4s"`), ""},
		{"short part before a gap", replace(t, replace(t, good, `DURATION=0.200,URI="18.2.m4s"`, `DURATION=0.150,URI="18.2.m4s"`),
			`URI="18.3.m4s"`, `URI="18.3.m4s",GAP=YES`), ""},
		{"short open part", replace(t, good, `DURATION=0.200,URI="19.1.m4s"`, `DURATION=0.150,URI="19.1.m4s"`), "less than 85%"},
		{"parts longer than their segment", replace(t, good, "#EXTINF:1.000,\n18.m4s", "#EXTINF:0.900,\n18.m4s"), "parts last"},
		{"no PART-INF", replace(t, good, "#EXT-X-PART-INF:PART-TARGET=0.200\n", ""), "without EXT-X-PART-INF"},
		{"PART-HOLD-BACK under 3 part targets", replace(t, good, "PART-HOLD-BACK=0.600", "PART-HOLD-BACK=0.500"), "PART-HOLD-BACK"},
		{"no PART-HOLD-BACK", replace(t, good, ",PART-HOLD-BACK=0.600", ""), "PART-HOLD-BACK"},
		{"CAN-SKIP-UNTIL under 6 target durations", replace(t, good, "CAN-SKIP-UNTIL=6.000", "CAN-SKIP-UNTIL=5.000"), "CAN-SKIP-UNTIL"},
		{"no blocking reload", replace(t, good, "CAN-BLOCK-RELOAD=YES,", ""), "CAN-BLOCK-RELOAD"},
		{"no preload hint", replace(t, good, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="19.2.m4s"`+"\n", ""), "no EXT-X-PRELOAD-HINT"},
		{"preload hint in an ended playlist", ended, "ENDLIST"},
		{"EXT-X-SKIP at version 7", replace(t, good, "#EXT-X-MAP", "#EXT-X-SKIP:SKIPPED-SEGMENTS=0\n#EXT-X-MAP"), "VERSION 9"},
		{"unparseable", replace(t, good, "#EXT-X-TARGETDURATION:1", "#EXT-X-TARGETDURATION:x"), "parsing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Media([]byte(tc.text), Options{})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q\n%s", err, tc.want, tc.text)
			}
		})
	}
}

// chunk encodes a video fragment of two samples, the first a keyframe
// when key is set, the second when key2 is.
func chunk(key, key2 bool) []byte {
	f := cmaf.NewFragment(true, 0, 0)
	f.AddVideo(media.H264, [][]byte{{0x65, 1, 2, 3}}, false, 3000, 0, key)
	f.AddVideo(media.H264, [][]byte{{0x41, 4, 5}}, false, 3000, 0, key2)
	return bytes.Clone(f.Encode(1, 0))
}

func TestMediaIndependent(t *testing.T) {
	good := text(10, 1, 2, "")
	keyFirst, keyLater, noKey := chunk(true, false), chunk(false, true), chunk(false, false)
	// Parts 10.0 and 11.0 start with a keyframe, the others hold none.
	data := map[string][]byte{"10.0.m4s": keyFirst, "11.0.m4s": keyFirst}
	for _, u := range []string{"10.1.m4s", "10.2.m4s", "10.3.m4s", "10.4.m4s", "11.1.m4s"} {
		data[u] = noKey
	}
	fetch := func(over map[string][]byte) func(string) ([]byte, error) {
		return func(uri string) ([]byte, error) {
			if d, ok := over[uri]; ok {
				if d == nil {
					return nil, errors.New("404")
				}
				return d, nil
			}
			return data[uri], nil
		}
	}
	tests := []struct {
		name string
		text string
		over map[string][]byte
		want string
	}{
		{"valid", good, nil, ""},
		{"independent part holding a keyframe later", good, map[string][]byte{"10.0.m4s": keyLater}, ""},
		{"keyframe part not marked", good, map[string][]byte{"10.2.m4s": keyFirst}, "starts with a keyframe but has no INDEPENDENT"},
		{"marked part without a keyframe", good, map[string][]byte{"11.0.m4s": noKey}, "no keyframe"},
		{"fetch fails", good, map[string][]byte{"10.3.m4s": nil}, "404"},
		{"not a fragment", good, map[string][]byte{"10.3.m4s": []byte("garbage!")}, "10.3.m4s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Media([]byte(tc.text), Options{Fetch: fetch(tc.over)})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestKeyframeParts(t *testing.T) {
	for _, tc := range []struct {
		data          []byte
		starts, holds bool
	}{{chunk(true, false), true, true}, {chunk(false, true), false, true}, {chunk(false, false), false, false}} {
		starts, holds, err := KeyframeParts(tc.data)
		if err != nil || starts != tc.starts || holds != tc.holds {
			t.Errorf("got %v %v %v, want %v %v", starts, holds, err, tc.starts, tc.holds)
		}
	}
}

func TestRenditionReports(t *testing.T) {
	video := text(10, 3, 2, "../audio/index.m3u8")
	audio := text(10, 3, 2, "../720p/index.m3u8")
	tests := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"valid", map[string]string{"720p/index.m3u8": video, "audio/index.m3u8": audio}, ""},
		{"at a segment boundary", map[string]string{"720p/index.m3u8": text(10, 3, 0, "../audio/index.m3u8"), "audio/index.m3u8": text(10, 3, 0, "../720p/index.m3u8")}, ""},
		{"one rendition missing", map[string]string{"720p/index.m3u8": video, "audio/index.m3u8": audio, "360p/index.m3u8": text(10, 3, 2, "../audio/index.m3u8")},
			"no rendition report for 360p"},
		{"unknown rendition", map[string]string{"720p/index.m3u8": video, "audio/index.m3u8": replace(t, audio, "../720p/", "../1080p/")}, "not a rendition of the set"},
		{"itself", map[string]string{"720p/index.m3u8": video, "audio/index.m3u8": replace(t, audio, "../720p/", "")}, "reports itself"},
		{"twice", map[string]string{"720p/index.m3u8": video + "#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=13,LAST-PART=1\n",
			"audio/index.m3u8": audio}, "twice"},
		{"behind", map[string]string{"720p/index.m3u8": replace(t, video, "LAST-PART=1", "LAST-PART=0"), "audio/index.m3u8": audio}, "states 13.0, the playlist itself is at 13.1"},
		{"no LAST-PART", map[string]string{"720p/index.m3u8": replace(t, video, ",LAST-PART=1", ""), "audio/index.m3u8": audio}, "no LAST-PART"},
		{"unparseable", map[string]string{"720p/index.m3u8": "#EXTM3U\n", "audio/index.m3u8": audio}, "720p"},
		{"server control differs", map[string]string{"720p/index.m3u8": replace(t, video, "PART-HOLD-BACK=0.600", "PART-HOLD-BACK=0.800"), "audio/index.m3u8": audio},
			"EXT-X-SERVER-CONTROL"},
		{"target duration differs", map[string]string{"720p/index.m3u8": video, "audio/index.m3u8": replace(t, audio, "TARGETDURATION:1", "TARGETDURATION:2")},
			"EXT-X-TARGETDURATION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string][]byte{}
			for k, v := range tc.set {
				set[k] = []byte(v)
			}
			err := RenditionReports(set)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// deltaOf writes by hand the delta update of text(10, 9, 2, report):
// the first skip segments replaced, the map carried on the first kept.
func deltaOf(t *testing.T, full string, skip int) string {
	t.Helper()
	head, rest, _ := strings.Cut(full, "#EXT-X-MAP:URI=\"init-1.mp4\"\n")
	for range skip {
		_, rest, _ = strings.Cut(rest, ".m4s\n")
	}
	head = replace(t, head, "#EXT-X-VERSION:7", "#EXT-X-VERSION:9")
	return head + fmt.Sprintf("#EXT-X-SKIP:SKIPPED-SEGMENTS=%d\n", skip) + "#EXT-X-MAP:URI=\"init-1.mp4\"\n" + rest
}

func TestDelta(t *testing.T) {
	full := text(10, 9, 2, "../audio/index.m3u8")
	good := deltaOf(t, full, 3)
	earlier := text(8, 9, 4, "../audio/index.m3u8")
	tests := []struct {
		name              string
		prev, delta, full string
		want              string
	}{
		{"valid", full, good, full, ""},
		{"onto an earlier playlist", earlier, good, full, ""},
		{"fewer segments skipped", full, deltaOf(t, full, 1), full, ""},
		{"skips within the boundary", full, deltaOf(t, full, 4), full, "only 3 end further"},
		{"skips nothing", full, full, full, "skips nothing"},
		{"previous playlist too new", text(11, 9, 0, "../audio/index.m3u8"), good, full, "previous playlist holds 11"},
		{"version 7", full, replace(t, good, "#EXT-X-VERSION:9", "#EXT-X-VERSION:7"), full, "VERSION 7"},
		{"changed segment", full, replace(t, good, "#EXTINF:1.000,\n15.m4s", "#EXTINF:0.900,\n15.m4s"), full, "segment 15"},
		{"map lost", full, replace(t, good, "#EXT-X-MAP:URI=\"init-1.mp4\"\n", ""), full, "EXT-X-MAP in force"},
		{"discontinuity sequence moved", full, replace(t, good, "DISCONTINUITY-SEQUENCE:2", "DISCONTINUITY-SEQUENCE:3"), full, "discontinuity sequence"},
		{"media sequence moved", full, replace(t, good, "MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:9"), full, ""},
		{"report differs", full, replace(t, good, "LAST-PART=1", "LAST-PART=0"), full, "RENDITION-REPORT"},
		{"not the same moment", full, deltaOf(t, text(10, 9, 1, "../audio/index.m3u8"), 3), full, "not the same moment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Delta([]byte(tc.prev), []byte(tc.delta), []byte(tc.full))
			if tc.name == "media sequence moved" {
				// Shifting EXT-X-MEDIA-SEQUENCE renumbers everything: the
				// merge takes other segments than the full playlist lists.
				if err == nil {
					t.Fatal("a delta with another media sequence passed")
				}
				return
			}
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q\ndelta:\n%s", err, tc.want, tc.delta)
			}
		})
	}
}
