package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

const (
	maxRedirects = 5
	maxURLBytes  = 8 << 10
)

var errTooManyRedirects = errors.New("too many redirects")

// fetchTimeout ends a download that took longer than FetchTimeout.
type fetchTimeout struct{ limit time.Duration }

func (e *fetchTimeout) Error() string {
	return fmt.Sprintf("the download took longer than %v", e.limit)
}

// newHTTPClient is the client FromURL uses: netguard's transport (the SSRF
// guard on every dial, no proxy from the environment), at most five
// redirects to http(s) URLs, bounded waits for connections and response
// headers.
func (s *Service) newHTTPClient() *http.Client {
	transport := s.guard().Transport(15 * time.Second)
	transport.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errTooManyRedirects
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirected to a %s URL; only http and https are supported", req.URL.Scheme)
			}
			return nil
		},
	}
}

// FromURL downloads an http or https URL into the uploads folder and
// returns the file; the caller hands it on and owns it. Addresses that are
// not public (loopback, private, link-local, ...) are refused unless
// AllowPrivateURLs is set, also after redirects. Refusals caused by the URL
// or its server are *Error: 400 for a malformed URL, 413 over the size
// limit, 422 when the source cannot be fetched. The File's URL is redacted
// (RedactURL).
func (s *Service) FromURL(ctx context.Context, rawURL string) (File, error) {
	return s.fetch(ctx, rawURL, func() (*os.File, error) {
		return os.CreateTemp(s.uploadsDir, "url-*.part")
	}, nil)
}

// CheckURL refuses, as an *Error (400, or 422 for a literal address the
// SSRF guard refuses), a source URL FromURL or Fetch could never fetch.
func (s *Service) CheckURL(rawURL string) error {
	_, err := s.parseSourceURL(rawURL)
	return err
}

// Fetch is FromURL for a URL import job: the download goes to
// <uploads>/<name>.part, replacing what an interrupted earlier attempt
// left there, and progress, if set, is told the bytes received so far and
// the total (-1 when the server does not say) after every read. Its
// *Error failures have Retry set when trying again later may succeed (the
// server or network failed, not the URL).
func (s *Service) Fetch(ctx context.Context, rawURL, name string, progress func(received, total int64)) (File, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name[0] == '.' {
		return File{}, fmt.Errorf("intake: %q is not a download name", name)
	}
	path := filepath.Join(s.uploadsDir, name+".part")
	return s.fetch(ctx, rawURL, func() (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	}, progress)
}

func (s *Service) fetch(ctx context.Context, rawURL string, create func() (*os.File, error), progress func(received, total int64)) (File, error) {
	u, err := s.parseSourceURL(rawURL)
	if err != nil {
		return File{}, err
	}
	shown := RedactURL(u.String())
	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.FetchTimeout, &fetchTimeout{s.cfg.FetchTimeout})
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return File{}, errBadRequest("source_url is not usable")
	}
	req.Header.Set("User-Agent", "Osprey")
	resp, err := s.client.Do(req)
	if err != nil {
		return File{}, s.fetchError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := errUnprocessable(nil, "fetching the source URL failed: the server answered %q", resp.Status)
		e.Retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
		return File{}, e
	}
	if resp.ContentLength > s.cfg.MaxSize {
		return File{}, errTooLarge(s.cfg.MaxSize)
	}

	// A stalled download is aborted after FetchIdle without data.
	idle := fmt.Errorf("the source sent no data for %v", s.cfg.FetchIdle)
	timer := time.AfterFunc(s.cfg.FetchIdle, func() { stop(idle) })
	defer timer.Stop()
	var received int64
	body := &progressReader{r: resp.Body, onData: func(n int) {
		timer.Reset(s.cfg.FetchIdle)
		received += int64(n)
		if progress != nil {
			progress(received, resp.ContentLength)
		}
	}}

	p, n, err := s.receive(body, create)
	if err != nil {
		return File{}, receiveError(err, func(err error) error { return s.fetchError(ctx, err) },
			"downloading "+shown)
	}
	if n == 0 {
		removeQuietly(p)
		return File{}, errUnprocessable(nil, "the source URL returned an empty file")
	}
	name := filenameFrom(resp.Header.Get("Content-Disposition"), resp.Request.URL)
	s.log.Info("source downloaded", "url", shown, "size", n, "filename", name)
	return File{Path: p, Filename: name, Size: n, Origin: "url", URL: shown}, nil
}

// parseSourceURL checks that raw is an absolute http(s) URL, and refuses
// at once, with a clearer message, a host the guard would refuse anyway
// (a literal non-public address, or localhost: netguard.Guard.CheckHost).
func (s *Service) parseSourceURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return nil, errBadRequest("source_url is required")
	case len(raw) > maxURLBytes:
		return nil, errBadRequest("source_url is longer than %d bytes", maxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errBadRequest("source_url is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errBadRequest("source_url must be an http or https URL, not %q", RedactURL(raw))
	}
	if u.Hostname() == "" {
		return nil, errBadRequest("source_url %q has no host", RedactURL(raw))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var blocked *blockedError
	if err := s.guard().CheckHost(u.Hostname(), port); errors.As(err, &blocked) {
		return nil, blockedMessage(blocked, nil)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func blockedMessage(b *blockedError, cause error) *Error {
	if cause == nil {
		cause = b
	}
	dest := b.Host
	if dest == "" {
		dest = b.Addr.String()
	}
	return errUnprocessable(cause, "refusing to fetch the source URL: it leads to %s, %s; "+
		"fetching from non-public addresses is disabled (set vod.allow_private_urls to allow it)", dest, b.Reason)
}

// fetchError explains why fetching failed, never with the URL itself
// (its query may hold secrets). Failures of the network or the server are
// marked Retry.
func (s *Service) fetchError(ctx context.Context, err error) error {
	var (
		blocked *blockedError
		dnsErr  *net.DNSError
	)
	switch {
	case errors.As(err, &blocked):
		return blockedMessage(blocked, err)
	case errors.Is(err, errTooManyRedirects):
		return errUnprocessable(err, "fetching the source URL failed: more than %d redirects", maxRedirects)
	case context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled):
		// A stalled source may send again later; one that took longer
		// than the whole allowance would again.
		var timeout *fetchTimeout
		e := errUnprocessable(err, "fetching the source URL failed: %v", context.Cause(ctx))
		e.Retry = !errors.As(context.Cause(ctx), &timeout)
		return e
	case ctx.Err() != nil: // the caller gave up (the client left, or shutdown)
		return &Error{Status: http.StatusBadRequest, Message: "the request was cancelled while fetching the source URL", Err: err}
	case errors.As(err, &dnsErr):
		e := errUnprocessable(err, "fetching the source URL failed: cannot resolve host %q", dnsErr.Name)
		e.Retry = dnsErr.IsTemporary || dnsErr.IsTimeout
		return e
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	e := errUnprocessable(err, "fetching the source URL failed: %v", err)
	e.Retry = true
	return e
}

// progressReader calls onData with the count after every read that
// returned data.
type progressReader struct {
	r      io.Reader
	onData func(n int)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.onData(n)
	}
	return n, err
}

// filenameFrom takes the file name from a Content-Disposition header, or
// else from the last element of the URL's path.
func filenameFrom(disposition string, u *url.URL) string {
	if disposition != "" {
		if _, params, err := mime.ParseMediaType(disposition); err == nil {
			if name := cleanName(params["filename"]); name != "" {
				return name
			}
		}
	}
	if u == nil || strings.HasSuffix(u.Path, "/") {
		return ""
	}
	return cleanName(path.Base(u.Path))
}
