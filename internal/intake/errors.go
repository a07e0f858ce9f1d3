package intake

import (
	"fmt"
	"net/http"
)

// Error is a source refused because of what the client sent: a missing
// field, a file over the size limit, a URL Osprey may not fetch. Status is
// the HTTP status that fits (400, 413, 422); Message is a sentence for the
// client. Other errors from this package are the server's own failures.
type Error struct {
	Status  int
	Message string
	Err     error // the underlying cause, if any
	// Retry is set when the same request may succeed later: the remote
	// server or the network failed, not what the client sent.
	Retry bool
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

func errBadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func errUnprocessable(cause error, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Message: fmt.Sprintf(format, args...), Err: cause}
}

func errTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the file is larger than the limit of %s (vod.max_source_size)", formatBytes(limit))}
}

// formatBytes renders n in binary units, e.g. "20 GiB", "1.5 MiB", "512 B".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + string("KMGTPE"[exp]) + "iB"
}
