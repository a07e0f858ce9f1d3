package fs

import (
	"errors"
	"fmt"
	"strings"
)

// tempPrefix starts the name of every temporary file Put creates. Keys whose
// elements start with it are rejected, so a half-written file is never
// addressable, and New removes leftovers from a crash.
const tempPrefix = ".osprey-tmp-"

// ErrInvalidKey is returned (wrapped) for a key or prefix that does not name
// a place inside the store's root.
var ErrInvalidKey = errors.New("storage/fs: invalid key")

// checkKey reports whether key is a valid object key: a relative,
// slash-separated path with no empty, "." or ".." elements, no backslash or
// NUL, and no element that could be one of Put's temporary files.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if err := checkChars(key); err != nil {
		return err
	}
	for elem := range strings.SplitSeq(key, "/") {
		if err := checkElem(key, elem); err != nil {
			return err
		}
	}
	return nil
}

// checkPrefix validates a DeletePrefix prefix. It follows checkKey's rules,
// except that the last element may be empty (a trailing slash names a
// directory) or a partial name.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: empty prefix (refusing to delete everything)", ErrInvalidKey)
	}
	if err := checkChars(prefix); err != nil {
		return err
	}
	elems := strings.Split(prefix, "/")
	last := len(elems) - 1
	for i, elem := range elems {
		if i == last && elem == "" && i > 0 {
			break // trailing slash
		}
		if err := checkElem(prefix, elem); err != nil {
			return err
		}
	}
	return nil
}

func checkChars(key string) error {
	switch {
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	case strings.ContainsRune(key, '\\'):
		return fmt.Errorf("%w: %q contains a backslash", ErrInvalidKey, key)
	case strings.ContainsRune(key, 0):
		return fmt.Errorf("%w: %q contains NUL", ErrInvalidKey, key)
	}
	return nil
}

func checkElem(key, elem string) error {
	switch {
	case elem == "":
		return fmt.Errorf("%w: %q has an empty element", ErrInvalidKey, key)
	case elem == "." || elem == "..":
		return fmt.Errorf("%w: %q has a %q element", ErrInvalidKey, key, elem)
	case strings.HasPrefix(elem, tempPrefix):
		return fmt.Errorf("%w: %q uses the reserved temporary-file prefix %q", ErrInvalidKey, key, tempPrefix)
	}
	return nil
}
