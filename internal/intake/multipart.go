package intake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const (
	clientIdle = time.Minute
	// multipartOverhead is what a form may add to the file: boundaries,
	// part headers and the title.
	multipartOverhead = 1 << 20
	maxTitleBytes     = 4 << 10
)

// FromMultipart streams a multipart/form-data request into the uploads
// folder: the "file" field (required) and an optional "title", in either
// order. The size limit is enforced while copying. Refusals caused by the
// request are *Error (400, or 413 over the size limit). The caller hands
// the file on and owns it.
func (s *Service) FromMultipart(w http.ResponseWriter, r *http.Request) (File, error) {
	limit := s.cfg.MaxSize + multipartOverhead
	if r.ContentLength > limit {
		return File{}, errTooLarge(s.cfg.MaxSize)
	}
	// A client that stops sending is dropped after a minute; deadlines are
	// set per read so slow but steady uploads of any size go through.
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	body := http.MaxBytesReader(w, &deadlineReader{r: r.Body, rc: rc, idle: clientIdle}, limit)
	// The multipart reader reads 4 KiB at a time; a larger buffer under it
	// takes the body from the socket in far fewer reads.
	r.Body = struct {
		io.Reader
		io.Closer
	}{bufio.NewReaderSize(body, receiveBuffer/4), body}
	mr, err := r.MultipartReader()
	if err != nil {
		return File{}, errBadRequest("the request must be multipart/form-data with a \"file\" field: %v", err)
	}
	f := File{Origin: "multipart"}
	var title string
	ok := false
	defer func() {
		if !ok && f.Path != "" {
			removeQuietly(f.Path)
		}
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return File{}, clientReadError(err, s.cfg.MaxSize)
		}
		switch part.FormName() {
		case "file":
			if f.Path != "" {
				return File{}, errBadRequest("the form has more than one \"file\" field")
			}
			p, n, err := s.receive(part, func() (*os.File, error) {
				return os.CreateTemp(s.uploadsDir, "multipart-*.part")
			})
			if err != nil {
				return File{}, receiveError(err, func(err error) error { return clientReadError(err, s.cfg.MaxSize) },
					"receiving a multipart upload")
			}
			f.Path, f.Size, f.Filename = p, n, cleanName(part.FileName())
		case "title":
			b, err := io.ReadAll(io.LimitReader(part, maxTitleBytes+1))
			if err != nil {
				return File{}, clientReadError(err, s.cfg.MaxSize)
			}
			if len(b) > maxTitleBytes {
				return File{}, errBadRequest("the \"title\" field is longer than %d bytes", maxTitleBytes)
			}
			title = string(b)
		default:
			return File{}, errBadRequest("unknown form field %q; expected \"file\" and optionally \"title\"", part.FormName())
		}
		_ = part.Close()
	}
	if f.Path == "" {
		return File{}, errBadRequest("the \"file\" field is required")
	}
	// An empty file is accepted: like any file that is not media, it
	// becomes an asset that fails with a reason ("the file is empty").
	if f.Title, err = CheckTitle(title); err != nil {
		return File{}, err
	}
	ok = true
	s.log.Info("multipart upload received", "filename", f.Filename, "size", f.Size)
	return f, nil
}

// clientReadError classifies a failure to read the request body: over the
// body limit is 413, anything else a 400 (the client sent a broken or
// incomplete form).
func clientReadError(err error, maxSize int64) *Error {
	if isTooLarge(err) {
		return errTooLarge(maxSize)
	}
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("reading the form failed: %v", err), Err: err}
}

// deadlineReader moves the connection's read deadline idle into the future
// before every read. Writers without deadline support are read as they are.
type deadlineReader struct {
	r    io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(d.idle))
	return d.r.Read(p)
}

func (d *deadlineReader) Close() error { return d.r.Close() }
