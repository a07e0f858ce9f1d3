package s3

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// ErrInvalidKey is returned (wrapped) for a key or prefix the folder backend
// would also reject: empty, absolute, with an empty, "." or ".." element, a
// backslash or NUL. Both backends accept the same keys, so switching from
// one to the other never changes which keys work.
var ErrInvalidKey = errors.New("storage/s3: invalid key")

// ErrChanged is returned (wrapped) by an Object's Read when it had to reopen
// the object after a Seek and the object had been replaced since Open.
var ErrChanged = errors.New("storage/s3: object replaced since it was opened")

// mapErr wraps storage.ErrNotFound around S3's "no such key" answers
// (NoSuchKey from GetObject, NotFound from a bodiless 404) and ErrChanged
// around a failed If-Match. A missing bucket stays a plain error.
func mapErr(err error) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	switch apiErr.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w (%w)", storage.ErrNotFound, err)
	case "PreconditionFailed":
		return fmt.Errorf("%w (%w)", ErrChanged, err)
	}
	return err
}

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if err := checkChars(key); err != nil {
		return err
	}
	for elem := range strings.SplitSeq(key, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("%w: %q has an empty, \".\" or \"..\" element", ErrInvalidKey, key)
		}
	}
	return nil
}

func checkChars(key string) error {
	switch {
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	case strings.ContainsAny(key, "\\\x00"):
		return fmt.Errorf("%w: %q contains a backslash or NUL", ErrInvalidKey, key)
	}
	return nil
}

// normalizePrefix returns Config.Prefix with exactly one trailing slash, or
// "" for none.
func normalizePrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if err := checkKey(p); err != nil {
		return "", fmt.Errorf("storage/s3: prefix: %w", err)
	}
	return p + "/", nil
}
