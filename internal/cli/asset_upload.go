package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"syscall"
	"time"
)

type assetUploadCmd struct {
	File         string        `arg:"" type:"existingfile" help:"Video or audio file to upload."`
	Title        string        `name:"title" placeholder:"TITLE" help:"Title of the asset (default: from the file name)."`
	Wait         bool          `name:"wait" help:"Wait until the asset is ready, showing its processing; exit 1 if it fails."`
	ChunkSize    int           `name:"chunk-size" default:"8" placeholder:"MiB" help:"Size of each upload request in MiB (default 8)."`
	PollInterval time.Duration `name:"poll-interval" default:"2s" placeholder:"DURATION" help:"How often --wait asks the server (default 2s)."`
}

const uploadsPath = "/api/v1/uploads/"

// lookupTries and lookupEvery bound the search for the asset an upload made
// when the server did not name it.
const (
	lookupTries = 20
	lookupEvery = 500 * time.Millisecond
)

func (c *assetUploadCmd) Run(env *runEnv, a *assetCmd) error {
	if c.ChunkSize < 1 || c.ChunkSize > 1024 {
		return usageError{fmt.Errorf("--chunk-size must be 1 to 1024 MiB, not %d", c.ChunkSize)}
	}
	if c.PollInterval < 100*time.Millisecond {
		return usageError{fmt.Errorf("--poll-interval must be at least 100ms, not %s", c.PollInterval)}
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	store := resumeStore{now: time.Now}
	if p, err := defaultResumePath(); err != nil {
		fmt.Fprintf(env.stderr, "osprey: warning: %v; this upload cannot be resumed\n", err)
	} else {
		store.path = p
	}

	ctx, stop := signal.NotifyContext(env.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	u := uploader{api: cl, tus: newTusClient(cl), store: store, stderr: env.stderr, now: time.Now}
	u.tus.chunkSize = int64(c.ChunkSize) << 20
	id, err := u.upload(ctx, c.File, c.Title)
	if err != nil {
		return err
	}
	if c.Wait {
		if err := waitForAsset(ctx, cl, id, c.PollInterval, env.stderr); err != nil {
			return err
		}
	}
	if a.JSON {
		body, err := assetCall(ctx, cl, http.MethodGet, assetPath(id), id)
		if err != nil {
			return err
		}
		_, err = env.stdout.Write(body)
		return err
	}
	_, err = fmt.Fprintln(env.stdout, id)
	return err
}

// uploader runs one resumable upload.
type uploader struct {
	api    *client
	tus    *tusClient
	store  resumeStore
	stderr io.Writer
	now    func() time.Time
}

// upload sends the file and returns the ID of the asset it became.
func (u *uploader) upload(ctx context.Context, file, title string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", file, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", fmt.Errorf("opening the file to upload: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("reading the file to upload: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", usageError{fmt.Errorf("%s is not a regular file", file)}
	}
	size := info.Size()
	if size == 0 {
		return "", usageError{fmt.Errorf("%s is empty", file)}
	}
	key := resumeKey(u.api.base, abs, size, info.ModTime())
	meta := map[string]string{"filename": filepath.Base(abs)}
	if title != "" {
		meta["title"] = title
	}
	meter := newProgressMeter(u.stderr, size, u.now)
	u.tus.progress = meter.update
	u.tus.notice = meter.note

	rp, err := u.resume(ctx, key, meter)
	if err != nil {
		return "", err
	}
	if rp.assetID != "" {
		return rp.assetID, nil
	}
	uploadURL, off := rp.url, rp.offset
	for restarted := false; ; restarted = true {
		if uploadURL == "" {
			uploadURL, err = u.tus.create(ctx, u.api.base+uploadsPath, size, meta)
			if err != nil {
				return "", fmt.Errorf("starting the upload: %w", err)
			}
			off = 0
			rec := resumeRecord{URL: uploadURL, Server: u.api.base, Path: abs, Size: size, ModTime: info.ModTime(), Created: u.now()}
			if err := u.store.put(key, rec); err != nil {
				meter.note(fmt.Sprintf("osprey: warning: %v; this upload cannot be resumed", err))
			}
		}
		meter.begin(off)
		var assetID string
		assetID, err = u.tus.send(ctx, uploadURL, f, off, size)
		if errors.Is(err, errUploadGone) && !restarted {
			meter.note("The server dropped the upload; starting over.")
			uploadURL = ""
			continue
		}
		if err != nil {
			meter.finish()
			if ctx.Err() != nil {
				return "", fmt.Errorf("upload interrupted with %s of %s sent; run the same command again to resume", formatBytes(meter.done), formatBytes(size))
			}
			if retryable(err) {
				return "", fmt.Errorf("uploading %s: %w (run the same command again to resume)", file, err)
			}
			return "", fmt.Errorf("uploading %s: %w", file, err)
		}
		meter.finish()
		if err := u.store.remove(key); err != nil {
			fmt.Fprintf(u.stderr, "osprey: warning: %v\n", err)
		}
		if assetID == "" {
			if assetID, err = u.findAsset(ctx, uploadURL, lookupTries); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(u.stderr, "Uploaded %s (%s) as asset %s.\n", filepath.Base(abs), formatBytes(size), assetID)
		return assetID, nil
	}
}

// resumePoint is where an upload goes on from: url and offset of an
// unfinished upload, the asset an upload that turned out complete became,
// or neither (start afresh).
type resumePoint struct {
	url     string
	offset  int64
	assetID string
}

// resume looks for an unfinished upload of the same file.
func (u *uploader) resume(ctx context.Context, key string, meter *progressMeter) (resumePoint, error) {
	rec, ok, err := u.store.get(key)
	if err != nil {
		meter.note(fmt.Sprintf("osprey: warning: %v; starting a new upload", err))
		return resumePoint{}, nil
	}
	if !ok {
		return resumePoint{}, nil
	}
	var off int64
	for attempt := 1; ; attempt++ {
		off, err = u.tus.offset(ctx, rec.URL)
		if err == nil || !retryable(err) || attempt > u.tus.retries || ctx.Err() != nil {
			break
		}
		if err := sleepCtx(ctx, u.tus.backoff(attempt)); err != nil {
			return resumePoint{}, err
		}
	}
	switch {
	case errors.Is(err, errUploadGone):
		// A finished upload may be gone because it became an asset.
		if id, ferr := u.findAsset(ctx, rec.URL, 1); ferr == nil {
			_ = u.store.remove(key)
			meter.note("This file was uploaded already, as asset " + id + ".")
			return resumePoint{assetID: id}, nil
		}
		if err := u.store.remove(key); err != nil {
			meter.note(fmt.Sprintf("osprey: warning: %v", err))
		}
		meter.note("The server no longer has the earlier, unfinished upload of this file; starting over.")
		return resumePoint{}, nil
	case err != nil:
		return resumePoint{}, fmt.Errorf("resuming the upload at %s: %w", rec.URL, err)
	}
	meter.note(fmt.Sprintf("Resuming the upload at %s of %s.", formatBytes(off), formatBytes(rec.Size)))
	return resumePoint{url: rec.URL, offset: off}, nil
}

// findAsset asks the API for the asset the upload became, up to tries times.
func (u *uploader) findAsset(ctx context.Context, uploadURL string, tries int) (string, error) {
	p, err := url.Parse(uploadURL)
	if err != nil {
		return "", fmt.Errorf("reading the upload URL: %w", err)
	}
	uploadID := path.Base(p.Path)
	q := "/api/v1/assets?limit=1&upload_id=" + url.QueryEscape(uploadID)
	for i := 1; ; i++ {
		body, err := assetCall(ctx, u.api, http.MethodGet, q, "")
		if err != nil {
			return "", fmt.Errorf("finding the asset of upload %s: %w", uploadID, err)
		}
		var page struct {
			Items []assetView `json:"items"`
		}
		if err := decodeJSON(body, &page); err != nil {
			return "", err
		}
		if len(page.Items) > 0 && page.Items[0].ID != "" {
			return page.Items[0].ID, nil
		}
		if i >= tries {
			return "", fmt.Errorf("the upload completed, but the server shows no asset for upload %s yet; look for it with `osprey asset list`", uploadID)
		}
		if err := sleepCtx(ctx, lookupEvery); err != nil {
			return "", err
		}
	}
}
