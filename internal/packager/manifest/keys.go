package manifest

import (
	"strconv"
	"strings"
)

// JoinKey joins a key relative to prefix onto it ("" prefix: rel itself).
func JoinKey(prefix, rel string) string {
	if prefix == "" {
		return rel
	}
	return prefix + "/" + rel
}

// ValidName reports whether s may name a rendition or subtitle: a path
// element of letters, digits, '_', '-' and '.', at most 64 bytes.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// SessionDir is the directory, under the prefix, of the channel's session
// number k.
func SessionDir(k uint64) string { return "s" + strconv.FormatUint(k, 10) }

// ValidDir reports whether d names a session directory.
func ValidDir(d string) bool {
	n, ok := strings.CutPrefix(d, "s")
	if !ok || n == "" || len(n) > 20 || n[0] == '0' {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// SegmentKey is the key of segment n of a rendition, relative to its
// session directory.
func SegmentKey(rendition string, n uint64) string {
	return rendition + "/" + strconv.FormatUint(n, 10) + ".m4s"
}

// InitName is the name of init version v in a rendition's directory.
func InitName(v uint64) string { return "init-" + strconv.FormatUint(v, 10) + ".mp4" }

// InitKey is the key of a rendition's init version v, relative to its
// session directory.
func InitKey(rendition string, v uint64) string { return rendition + "/" + InitName(v) }
