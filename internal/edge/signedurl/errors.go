package signedurl

import "errors"

// Every error Verify returns wraps exactly one of these.
var (
	ErrUnsigned      = errors.New("signedurl: request is not signed")
	ErrMalformed     = errors.New("signedurl: malformed signature parameters")
	ErrUnknownKey    = errors.New("signedurl: unknown key pair id")
	ErrBadSignature  = errors.New("signedurl: signature does not match")
	ErrExpired       = errors.New("signedurl: expired")
	ErrNotYetValid   = errors.New("signedurl: not yet valid")
	ErrWrongResource = errors.New("signedurl: signed for another resource")
	ErrIPNotAllowed  = errors.New("signedurl: client IP not allowed")
)

// verifyError is a sentinel with a message a user can act on.
type verifyError struct {
	kind error
	msg  string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.kind }

// fail returns an error wrapping kind whose text is "signedurl: " + msg.
func fail(kind error, msg string) error {
	return &verifyError{kind: kind, msg: "signedurl: " + msg}
}

// malformed returns an ErrMalformed error whose text ends with detail.
func malformed(detail string) error {
	return &verifyError{kind: ErrMalformed, msg: ErrMalformed.Error() + ": " + detail}
}

// clip shortens an untrusted value before it goes into an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
