package edge

import (
	"net/http"
	"net/url"
	"strings"
)

// CMCD (CTA-5004, Common Media Client Data) is what players such as hls.js
// and dash.js report with each request: buffer length (bl), bitrate (br),
// session id (sid), object type (ot) and more. It arrives as the query
// argument "CMCD" or in the headers CMCD-Request, CMCD-Object, CMCD-Status
// and CMCD-Session; each is a comma-separated list of key=value, where a
// value is an integer, a decimal, a quoted string or a token, and a key
// alone means true.

// cmcdField is one parsed CMCD key. value holds the JSON encoding.
type cmcdField struct {
	key   string
	value []byte
}

// cmcdHeaders are the header forms of CMCD.
var cmcdHeaders = []string{"Cmcd-Request", "Cmcd-Object", "Cmcd-Status", "Cmcd-Session"}

// Limits: a hostile client cannot make the log line huge.
const (
	maxCMCDBytes  = 4096
	maxCMCDFields = 64
)

// parseCMCD collects the CMCD data of a request, from the query argument
// and the headers; later duplicates of a key are ignored.
func parseCMCD(r *http.Request) []cmcdField {
	var fields []cmcdField
	if strings.Contains(r.URL.RawQuery, "CMCD=") {
		if v := r.URL.Query().Get("CMCD"); v != "" {
			fields = appendCMCD(fields, v)
		}
	}
	for _, name := range cmcdHeaders {
		for _, v := range r.Header[name] {
			fields = appendCMCD(fields, v)
		}
	}
	return fields
}

// appendCMCD parses one CMCD list.
func appendCMCD(fields []cmcdField, s string) []cmcdField {
	if len(s) > maxCMCDBytes {
		s = s[:maxCMCDBytes]
	}
	for len(s) > 0 && len(fields) < maxCMCDFields {
		// Split off one member; commas inside quoted strings are kept.
		end, quoted := len(s), false
		for i := 0; i < len(s); i++ {
			if s[i] == '"' && (i == 0 || s[i-1] != '\\') {
				quoted = !quoted
			} else if s[i] == ',' && !quoted {
				end = i
				break
			}
		}
		member := strings.TrimSpace(s[:end])
		if end < len(s) {
			s = s[end+1:]
		} else {
			s = ""
		}
		key, val, hasVal := strings.Cut(member, "=")
		key = strings.TrimSpace(key)
		if !validCMCDKey(key) || hasKey(fields, key) {
			continue
		}
		fields = append(fields, cmcdField{key: key, value: cmcdValue(strings.TrimSpace(val), hasVal)})
	}
	return fields
}

func hasKey(fields []cmcdField, key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}

// validCMCDKey accepts the reserved lower-case keys and custom ones with a
// hyphen ("com.example-key").
func validCMCDKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// cmcdValue encodes a value as JSON: numbers stay numbers, quoted strings
// become strings, a bare key is true, a token is a string.
func cmcdValue(v string, hasVal bool) []byte {
	if !hasVal {
		return []byte("true")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		s := strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
		return appendJSONString(nil, s)
	}
	if isDecimal(v) {
		return []byte(v)
	}
	return appendJSONString(nil, v)
}

// isDecimal reports whether v is a CMCD number: an integer or a decimal,
// optionally negative ("-12", "1.08"), which is also valid JSON.
func isDecimal(v string) bool {
	v = strings.TrimPrefix(v, "-")
	whole, frac, dot := strings.Cut(v, ".")
	digits := func(s string) bool {
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				return false
			}
		}
		return s != ""
	}
	return digits(whole) && (!dot || digits(frac)) && (len(whole) == 1 || whole[0] != '0')
}

// cmcdQueryRemoved returns a query without its CMCD argument (for the log:
// it is recorded parsed, not twice).
func cmcdQueryRemoved(raw string) string {
	if !strings.Contains(raw, "CMCD=") {
		return raw
	}
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "CMCD" {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}
