package intake

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

const (
	maxFilenameBytes = 255
	maxTitleRunes    = 200
)

// cleanName reduces a client's file name to a base name without control
// characters, at most 255 bytes long; "" if nothing usable is left.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxFilenameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	// Cutting may have left spaces at the end (fuzzing found it).
	name = strings.TrimRightFunc(name, unicode.IsSpace)
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// CleanName is cleanName for other packages: a client's file name reduced
// to a base name without control characters, at most 255 bytes; "" if
// nothing usable is left.
func CleanName(name string) string { return cleanName(name) }

// CheckTitle trims a client's title and refuses (with a 400 *Error)
// control characters and titles longer than 200 characters.
func CheckTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case !utf8.ValidString(title):
		return "", errBadRequest("title must be UTF-8 text")
	case strings.ContainsFunc(title, unicode.IsControl):
		return "", errBadRequest("title must not contain control characters")
	case utf8.RuneCountInString(title) > maxTitleRunes:
		return "", errBadRequest("title is %d characters long; at most %d are allowed", utf8.RuneCountInString(title), maxTitleRunes)
	}
	return title, nil
}

// readErrorReader remembers the error of the reader it wraps, so a copy
// can tell the client's failures from the disk's.
type readErrorReader struct {
	r   io.Reader
	err error
}

func (r *readErrorReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// sourceError is a failure to read the source (the client's request body,
// the remote server's response), as opposed to the disk's.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// receiveBuffer is the size of receive's writes to the uploads folder.
const receiveBuffer = 1 << 20

// receive copies src into a new file in the uploads folder that create
// makes, refusing more than the size limit (an *Error). On error no file is
// left behind; a failure to read src is a *sourceError, for the caller to
// explain.
func (s *Service) receive(src io.Reader, create func() (*os.File, error)) (path string, size int64, err error) {
	tmp, err := create()
	if err != nil {
		return "", 0, fmt.Errorf("creating a file in the uploads folder: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	rr := &readErrorReader{r: src}
	// Sources hand out small reads (a multipart part at most 4 KiB, a
	// socket what has arrived): gather them into large writes. The
	// struct hides the file's ReadFrom, which bufio would call directly.
	bw := bufio.NewWriterSize(struct{ io.Writer }{tmp}, receiveBuffer)
	n, err := io.Copy(bw, io.LimitReader(rr, s.cfg.MaxSize+1))
	if err == nil && rr.err == nil {
		err = bw.Flush()
	}
	switch {
	case rr.err != nil:
		return "", 0, &sourceError{rr.err}
	case err != nil:
		return "", 0, fmt.Errorf("writing %s: %w", tmp.Name(), err)
	case n > s.cfg.MaxSize:
		return "", 0, errTooLarge(s.cfg.MaxSize)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	return tmp.Name(), n, nil
}

// receiveError returns an error of receive as the caller shows it: a
// refusal (*Error) as is, a failure to read the source as explain makes it,
// anything else (the server's own failure) wrapped with what it was doing.
func receiveError(err error, explain func(error) error, doing string) error {
	var (
		ie *Error
		se *sourceError
	)
	switch {
	case errors.As(err, &ie):
		return err
	case errors.As(err, &se):
		return explain(se.err)
	}
	return fmt.Errorf("intake: %s: %w", doing, err)
}

// isTooLarge reports whether err is http.MaxBytesReader's refusal.
func isTooLarge(err error) bool {
	var maxErr *http.MaxBytesError
	return errors.As(err, &maxErr)
}

// moveFile renames src to dst, copying across file systems.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		_ = os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		_ = os.Remove(dst)
		return err
	}
	return os.Remove(src)
}

// freeName is dir/name, or dir/name with a number added before its
// extension when that is taken.
func freeName(dir, name string) string {
	p := filepath.Join(dir, name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 1000; i++ {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
		p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", stem, i, ext))
	}
	return filepath.Join(dir, stem+"-"+randomHex(4)+ext)
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func removeQuietly(path string) { _ = os.Remove(path) }
