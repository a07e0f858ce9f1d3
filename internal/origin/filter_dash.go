package origin

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// The MPD is filtered through github.com/Eyevinn/dash-mpd, the library the
// packager writes it with: Representations the filter rejects are removed,
// an AdaptationSet left without any is removed, and the maxWidth/maxHeight
// and min/maxBandwidth hints of the sets that remain describe what is left.
// Written back with the packager's settings (XML header, two-space indent,
// final newline), an unfiltered MPD comes out byte for byte as stored
// (TestMPDRoundTrip), so nothing but the removed renditions changes.

// filterMPD applies f to an MPD.
func filterMPD(body []byte, f *manifestFilter) ([]byte, error) {
	m, err := mpd.MPDFromBytes(body)
	if err != nil {
		return nil, fmt.Errorf("parsing MPD: %w", err)
	}
	var removedVideo []*rendition
	audioTotal, audioKept := 0, 0
	for _, p := range m.Periods {
		videoTotal, videoKept := 0, 0
		sets := p.AdaptationSets[:0]
		for _, as := range p.AdaptationSets {
			had := len(as.Representations)
			reps := as.Representations[:0]
			for _, rep := range as.Representations {
				r := dashRendition(as, rep)
				keep := f.keep(&r)
				switch r.kind {
				case kindVideo:
					videoTotal++
					if keep {
						videoKept++
					} else {
						removedVideo = append(removedVideo, &r)
					}
				case kindAudio:
					audioTotal++
					if keep {
						audioKept++
					}
				}
				if keep {
					reps = append(reps, rep)
				}
			}
			clear(as.Representations[len(reps):])
			as.Representations = reps
			if len(reps) > 0 || had == 0 {
				updateHints(as)
				sets = append(sets, as)
			}
		}
		clear(p.AdaptationSets[len(sets):])
		p.AdaptationSets = sets
		if videoTotal > 0 && videoKept == 0 {
			return nil, noVideoLeft(removedVideo)
		}
	}
	if audioTotal > 0 && audioKept == 0 {
		return nil, noAudioLeft()
	}
	var buf bytes.Buffer
	buf.Grow(len(body))
	if _, err := m.Write(&buf, "  ", bytes.HasPrefix(body, []byte("<?xml"))); err != nil {
		return nil, fmt.Errorf("writing MPD: %w", err)
	}
	if bytes.HasSuffix(body, []byte("\n")) {
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// dashRendition describes a Representation, with what it inherits from
// its AdaptationSet.
func dashRendition(as *mpd.AdaptationSetType, rep *mpd.RepresentationType) rendition {
	var r rendition
	codecs := rep.Codecs
	if codecs == "" {
		codecs = as.Codecs
	}
	r.codecs = splitCodecs(codecs)
	r.kind = dashKind(as, rep, r.codecs)
	r.lang = as.Lang
	switch r.kind {
	case kindVideo:
		if h := firstNonZero(rep.Height, as.Height); h > 0 {
			r.set(attrHeight, float64(h))
		}
		r.set(attrVideoBitrate, float64(rep.Bandwidth))
		fr := rep.FrameRate
		if fr == "" {
			fr = as.FrameRate
		}
		if fps, ok := parseFrameRate(string(fr)); ok {
			r.set(attrFrameRate, fps)
		}
	case kindAudio:
		r.set(attrAudioBitrate, float64(rep.Bandwidth))
		rate := rep.AudioSamplingRate
		if rate == nil {
			rate = as.AudioSamplingRate
		}
		if rate != nil {
			// "48000", or "min max" for a range: the first is the rate.
			if n, err := strconv.ParseFloat(strings.Fields(string(*rate) + " x")[0], 64); err == nil {
				r.set(attrSampleRate, n)
			}
		}
		acc := rep.AudioChannelConfigurations
		if len(acc) == 0 {
			acc = as.AudioChannelConfigurations
		}
		for _, d := range acc {
			if d.SchemeIdUri == "urn:mpeg:dash:23003:3:audio_channel_configuration:2011" {
				if n, err := strconv.ParseFloat(d.Value, 64); err == nil {
					r.set(attrChannels, n)
				}
			}
		}
	}
	return r
}

func firstNonZero(a, b uint32) uint32 {
	if a != 0 {
		return a
	}
	return b
}

// dashKind: the AdaptationSet's contentType, else a mimeType, else the
// codecs.
func dashKind(as *mpd.AdaptationSetType, rep *mpd.RepresentationType, codecs []string) kind {
	switch string(as.ContentType) {
	case "video":
		return kindVideo
	case "audio":
		return kindAudio
	case "text":
		return kindText
	}
	for _, mt := range []string{rep.MimeType, as.MimeType} {
		switch {
		case strings.HasPrefix(mt, "video/"):
			return kindVideo
		case strings.HasPrefix(mt, "audio/"):
			return kindAudio
		case strings.HasPrefix(mt, "text/"), mt == "application/ttml+xml":
			return kindText
		}
	}
	return kindOfCodecs(codecs)
}

// parseFrameRate parses MPD@frameRate: "30", "30000/1001".
func parseFrameRate(s string) (float64, bool) {
	num, den, frac := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	if !frac {
		return n, true
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d == 0 {
		return 0, false
	}
	return n / d, true
}

// updateHints makes the AdaptationSet's min/max width, height and
// bandwidth, where present, describe its remaining Representations.
func updateHints(as *mpd.AdaptationSetType) {
	if len(as.Representations) == 0 {
		return
	}
	var minW, maxW, minH, maxH, minB, maxB uint32
	for i, rep := range as.Representations {
		w, h := firstNonZero(rep.Width, as.Width), firstNonZero(rep.Height, as.Height)
		if i == 0 {
			minW, maxW, minH, maxH, minB, maxB = w, w, h, h, rep.Bandwidth, rep.Bandwidth
			continue
		}
		minW, maxW = min(minW, w), max(maxW, w)
		minH, maxH = min(minH, h), max(maxH, h)
		minB, maxB = min(minB, rep.Bandwidth), max(maxB, rep.Bandwidth)
	}
	for _, hint := range []struct {
		field *uint32
		value uint32
	}{
		{&as.MinWidth, minW}, {&as.MaxWidth, maxW}, {&as.MinHeight, minH}, {&as.MaxHeight, maxH},
		{&as.MinBandwidth, minB}, {&as.MaxBandwidth, maxB},
	} {
		if *hint.field != 0 && hint.value != 0 {
			*hint.field = hint.value
		}
	}
}
