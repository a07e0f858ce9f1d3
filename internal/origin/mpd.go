package origin

import (
	"bytes"
	"hash/fnv"
	"strconv"
	"strings"
)

// mpdIsStatic reports whether the MPD element's type attribute is "static",
// or absent (static is the DASH default). A manifest without an MPD element
// counts as live, the cautious choice for caching.
func mpdIsStatic(body []byte) bool {
	tag := startTag(body, "<MPD")
	if tag == nil {
		return false
	}
	start, end, ok := attr(tag, "type")
	return !ok || string(tag[start:end]) == "static"
}

// rewriteUTCTiming makes root-relative URLs ("/time", not "//host/time") in
// the value attributes of UTCTiming elements absolute by prefixing base.
// It returns the new body and true if anything changed. base must already
// be safe inside an XML attribute.
func rewriteUTCTiming(body []byte, base string) ([]byte, bool) {
	if base == "" || !bytes.Contains(body, []byte("<UTCTiming")) {
		return body, false
	}
	var out []byte
	last := 0 // body[:last] has been copied to out
	for pos := 0; ; {
		i := bytes.Index(body[pos:], []byte("<UTCTiming"))
		if i < 0 {
			break
		}
		start := pos + i
		tag := startTag(body[start:], "<UTCTiming")
		if tag == nil {
			pos = start + len("<UTCTiming") // a longer name, or no closing '>'
			continue
		}
		pos = start + len(tag)
		vs, ve, ok := attr(tag, "value")
		if !ok {
			continue
		}
		newVal, changed := absolutize(tag[vs:ve], base)
		if !changed {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(body)+4*len(base))
		}
		out = append(out, body[last:start+vs]...)
		out = append(out, newVal...)
		last = start + ve
	}
	if out == nil {
		return body, false
	}
	return append(out, body[last:]...), true
}

// absolutize prefixes base to each whitespace-separated root-relative URL
// in an attribute value (http-iso UTCTiming values may list several).
func absolutize(val []byte, base string) ([]byte, bool) {
	fields := strings.Fields(string(val))
	changed := false
	for i, f := range fields {
		if strings.HasPrefix(f, "/") && !strings.HasPrefix(f, "//") {
			fields[i] = base + f
			changed = true
		}
	}
	if !changed {
		return val, false
	}
	return []byte(strings.Join(fields, " ")), true
}

// startTag returns the start tag that begins b with the given "<Name",
// through its closing '>', or nil if b does not begin with one.
func startTag(b []byte, open string) []byte {
	i := bytes.Index(b, []byte(open))
	if i < 0 {
		return nil
	}
	b = b[i:]
	if len(b) > len(open) {
		switch b[len(open)] {
		case ' ', '\t', '\r', '\n', '>', '/':
		default:
			return nil // a longer element name, such as <MPDx
		}
	}
	end := bytes.IndexByte(b, '>')
	if end < 0 {
		return nil
	}
	return b[:end+1]
}

// attr finds attribute name in a start tag and returns the bounds of its
// value, tag[start:end], and whether it is present. It expects well-formed
// XML quoting.
func attr(tag []byte, name string) (start, end int, ok bool) {
	for i := 0; i < len(tag); {
		j := bytes.Index(tag[i:], []byte(name+"="))
		if j < 0 {
			return 0, 0, false
		}
		at := i + j
		i = at + len(name) + 1
		if at == 0 || !isSpace(tag[at-1]) || i >= len(tag) {
			continue // part of a longer name, such as contentType=
		}
		q := tag[i]
		if q != '"' && q != '\'' {
			continue
		}
		n := bytes.IndexByte(tag[i+1:], q)
		if n < 0 {
			return 0, 0, false
		}
		return i + 1, i + 1 + n, true
	}
	return 0, 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// shortHash is a compact fingerprint of s for ETag suffixes.
func shortHash(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
