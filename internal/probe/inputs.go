package probe

import (
	"regexp"
	"strings"
)

// Formats is ffmpeg's -format_whitelist for sources: the demuxers of the
// container and stream formats Osprey accepts. Playlists and formats that
// open other files or URLs (hls, dash, concat, image2 patterns, subfile,
// tee, ffmetadata, ...) are not on it, so an upload that is secretly one of
// them cannot make ffmpeg read other local files.
const Formats = "mov,mp4,m4a,3gp,3g2,mj2," + // MP4, MOV and kin
	"matroska,webm,avi,mpegts,flv,asf,mpeg,mxf,dv,ivf," + // other containers
	"wav,w64,aiff,caf,mp3,aac,ac3,eac3,flac,ogg," + // audio
	"h264,hevc,m4v,mpegvideo" // raw video elementary streams

// Protocols is ffmpeg's -protocol_whitelist for sources: the local file
// only (given as "file:" + path), and nothing a demuxer might open besides.
const Protocols = "file"

// InputArgs opens the untrusted source at path in an ffmpeg or ffprobe
// run: only the local file protocol and the formats Osprey accepts, then
// "-i file:PATH" (the "file:" prefix keeps a name that looks like a URL or
// another protocol a local file, whatever it holds). Options for the input
// itself (-ss, -skip_frame) go before these.
func InputArgs(path string) []string {
	return []string{"-protocol_whitelist", Protocols, "-format_whitelist", Formats, "-i", "file:" + path}
}

// notOnWhitelist matches ffmpeg's refusal of a format or protocol:
// "[hls @ 0x55d0c8] Format not on whitelist 'mov,...'" or
// "Protocol 'http' not on whitelist 'file'!".
var (
	formatRefused   = regexp.MustCompile(`\[([a-z0-9_,]+) @ [^\]]*\] Format not on whitelist`)
	protocolRefused = regexp.MustCompile(`Protocol '([^']*)' not on whitelist`)
)

// RefusedInput explains, from ffmpeg's or ffprobe's messages, a source
// refused by InputArgs' whitelists as a sentence for the person who sent
// it; "" when the messages say nothing of the kind.
func RefusedInput(stderr string) string {
	if m := formatRefused.FindStringSubmatch(stderr); m != nil {
		name := m[1]
		if name == "hls" || name == "dash" || name == "concat" {
			return "the file is a playlist (" + name + "), not a video or audio file; " +
				"upload the media itself (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, ...)"
		}
		return "the file's format (" + name + ") is not one Osprey accepts; " +
			"upload a video or audio file such as MP4, MOV, MKV, WebM, AVI, MPEG-TS or FLV"
	}
	if m := protocolRefused.FindStringSubmatch(stderr); m != nil {
		return "the file refers to other files or addresses (" + strings.TrimSpace(m[1]) +
			"), which Osprey does not follow; upload a self-contained video or audio file"
	}
	return ""
}
