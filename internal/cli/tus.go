package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// tusClient speaks the client side of tus 1.0: the core protocol (HEAD,
// PATCH) plus the creation and termination extensions. It streams each
// chunk from an io.ReaderAt, so a file is never read whole into memory, and
// after a network error or a 5xx it asks the server for its offset and goes
// on from there, so acknowledged bytes are never sent twice.
type tusClient struct {
	api       *client      // base URL, token and error messages
	http      *http.Client // no overall timeout: the watchdogs below bound each request
	chunkSize int64
	// retries is how many failures in a row (without the upload moving
	// forward) are retried before giving up; backoff is the wait before the
	// n-th retry (n from 1).
	retries int
	backoff func(n int) time.Duration
	// stall abandons a PATCH whose body has not moved for this long;
	// respTimeout bounds the wait for an answer once the body is sent (the
	// last PATCH may make the server store the whole file).
	stall, respTimeout time.Duration
	// progress, if set, is told how many bytes of the file the server has
	// or is receiving; it may go back after a failed request.
	progress func(done int64)
	// notice, if set, hears about retries.
	notice func(msg string)
}

const tusVersion = "1.0.0"

// errUploadGone means the server no longer knows the upload (404 or 410).
var errUploadGone = errors.New("the server no longer has this upload")

// tusStatusError is an unexpected HTTP answer to a tus request.
type tusStatusError struct {
	status int
	err    error // the message for the user
}

func (e *tusStatusError) Error() string { return e.err.Error() }
func (e *tusStatusError) Unwrap() error { return e.err }

// retryable tells a failure worth retrying (network trouble, the server
// being unwell or busy, an offset that needs re-reading) from a refusal.
func retryable(err error) bool {
	var se *tusStatusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusConflict || se.status == http.StatusLocked ||
			se.status == http.StatusTooManyRequests || se.status == http.StatusRequestTimeout
	}
	return !errors.Is(err, errUploadGone)
}

func newTusClient(api *client) *tusClient {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &tusClient{
		api:         api,
		http:        &http.Client{Transport: transport},
		chunkSize:   8 << 20,
		retries:     6,
		backoff:     func(n int) time.Duration { return min(time.Duration(1<<(n-1))*500*time.Millisecond, 15*time.Second) },
		stall:       60 * time.Second,
		respTimeout: 10 * time.Minute,
	}
}

// encodeMetadata renders Upload-Metadata: "key base64(value)" pairs.
func encodeMetadata(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(meta[k])))
	}
	return strings.Join(parts, ",")
}

func (c *tusClient) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("building the %s request: %w", method, err)
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	c.api.authorize(req)
	return req, nil
}

// do sends req and returns the response with its body read (at most 64 KiB)
// and closed.
func (c *tusClient) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.api.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer to %s: %w", req.Method, err)
	}
	return resp, data, nil
}

// statusError turns an unexpected answer into an error; 404 and 410 about
// an upload become errUploadGone.
func (c *tusClient) statusError(resp *http.Response, data []byte) error {
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return &tusStatusError{status: resp.StatusCode, err: errUploadGone}
	}
	return &tusStatusError{status: resp.StatusCode, err: c.api.statusError(resp, data, "")}
}

// create starts an upload of size bytes at endpoint and returns its URL.
func (c *tusClient) create(ctx context.Context, endpoint string, size int64, meta map[string]string) (string, error) {
	req, err := c.newRequest(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	if len(meta) > 0 {
		req.Header.Set("Upload-Metadata", encodeMetadata(meta))
	}
	resp, data, err := c.do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", &tusStatusError{status: resp.StatusCode, err: c.api.statusError(resp, data, "")}
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("the server created an upload but sent no usable Location: %w", err)
	}
	return loc.String(), nil
}

// offset asks the server how many bytes of the upload it has.
func (c *tusClient) offset(ctx context.Context, url string) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Cache-Control", "no-store")
	resp, data, err := c.do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return 0, c.statusError(resp, data)
	}
	return parseOffset(resp)
}

func parseOffset(resp *http.Response) (int64, error) {
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("the server answered %s without a valid Upload-Offset (%q)", resp.Status, resp.Header.Get("Upload-Offset"))
	}
	return off, nil
}

// terminate deletes an unfinished upload (the termination extension).
func (c *tusClient) terminate(ctx context.Context, url string) error {
	req, err := c.newRequest(ctx, http.MethodDelete, url, nil)
	if err != nil {
		return err
	}
	resp, data, err := c.do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return c.statusError(resp, data)
	}
	return nil
}

// patchResult is what a successful PATCH tells.
type patchResult struct {
	offset  int64
	assetID string // Osprey-Asset-Id, on the PATCH that completed the upload
}

// patch sends n bytes of r from off.
func (c *tusClient) patch(ctx context.Context, url string, r io.ReaderAt, off, n int64) (patchResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("no upload progress for %s", c.stall)
	errNoAnswer := fmt.Errorf("no answer %s after the last byte", c.respTimeout)
	var bodySent atomic.Bool
	watchdog := time.AfterFunc(c.stall, func() {
		if bodySent.Load() {
			cancel(errNoAnswer)
		} else {
			cancel(errStalled)
		}
	})
	// The transport may read on after Do returns: ignore it from then on.
	var returned atomic.Bool
	defer func() {
		returned.Store(true)
		watchdog.Stop()
	}()
	body := &watchedReader{r: io.NewSectionReader(r, off, n), left: n, onRead: func(read int64, done bool) {
		if returned.Load() {
			return
		}
		if done {
			bodySent.Store(true)
			watchdog.Reset(c.respTimeout)
		} else {
			watchdog.Reset(c.stall)
		}
		if c.progress != nil {
			c.progress(off + read)
		}
	}}
	req, err := c.newRequest(ctx, http.MethodPatch, url, body)
	if err != nil {
		return patchResult{}, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
	resp, data, err := c.do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause == errStalled || cause == errNoAnswer {
			return patchResult{}, cause
		}
		return patchResult{}, err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return patchResult{}, c.statusError(resp, data)
	}
	newOff, err := parseOffset(resp)
	if err != nil {
		return patchResult{}, err
	}
	if newOff < off || newOff > off+n {
		return patchResult{}, fmt.Errorf("the server acknowledged offset %d after a PATCH of bytes %d-%d", newOff, off, off+n)
	}
	return patchResult{offset: newOff, assetID: resp.Header.Get("Osprey-Asset-Id")}, nil
}

// finish asks the server to create the asset of a complete upload: a
// PATCH at the full offset with no body. It returns the asset ID the
// server names ("" if none).
func (c *tusClient) finish(ctx context.Context, url string, size int64) (string, error) {
	req, err := c.newRequest(ctx, http.MethodPatch, url, http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(size, 10))
	resp, data, err := c.do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return "", c.statusError(resp, data)
	}
	return resp.Header.Get("Osprey-Asset-Id"), nil
}

// watchedReader reports every read; done is true once left bytes are read.
// Only the transport reads it, but possibly after Do has returned, so
// onRead must be safe to call concurrently with the caller's own work.
type watchedReader struct {
	r      io.Reader
	read   int64
	left   int64
	onRead func(read int64, done bool)
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.read += int64(n)
		w.onRead(w.read, w.read >= w.left)
	}
	return n, err
}

// send uploads bytes [off, size) of r to url, resynchronizing with the
// server's offset after each failure, and returns the asset ID the server
// named when the upload completed ("" if the answer never came or lacked it).
func (c *tusClient) send(ctx context.Context, url string, r io.ReaderAt, off, size int64) (string, error) {
	assetID := ""
	failures := 0
	resync := false
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) {
			return err
		}
		failures++
		if failures > c.retries {
			return fmt.Errorf("giving up after %d attempts: %w", failures, err)
		}
		wait := c.backoff(failures)
		if c.notice != nil {
			c.notice(fmt.Sprintf("%v; retrying in %s (%d/%d)", err, wait.Round(time.Millisecond), failures, c.retries))
		}
		resync = true
		return sleepCtx(ctx, wait)
	}
	for {
		if resync {
			o, err := c.offset(ctx, url)
			if err != nil {
				if err := fail(err); err != nil {
					return "", err
				}
				continue
			}
			if o > size {
				return "", fmt.Errorf("the server has %d bytes of an upload of %d", o, size)
			}
			if o > off {
				failures = 0
			}
			off, resync = o, false
			if c.progress != nil {
				c.progress(off)
			}
		}
		if off >= size {
			if assetID != "" {
				return assetID, nil
			}
			// Complete, but no asset named: creating it failed (the server
			// keeps the upload) or the answer was lost. Ask again.
			id, err := c.finish(ctx, url, size)
			if err != nil {
				if err := fail(err); err != nil {
					return "", err
				}
				continue
			}
			return id, nil
		}
		n := min(c.chunkSize, size-off)
		res, err := c.patch(ctx, url, r, off, n)
		if err == nil && res.offset == off {
			err = fmt.Errorf("the server accepted none of bytes %d-%d", off, off+n)
		}
		if err != nil {
			if err := fail(err); err != nil {
				return "", err
			}
			continue
		}
		failures = 0
		off = res.offset
		if res.assetID != "" {
			assetID = res.assetID
		}
	}
}
