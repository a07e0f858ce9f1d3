// Package storeurl turns the --storage setting into a storage.Store:
//
//	file:DIR, file:///ABS/DIR or a plain path   the folder backend (storage/fs)
//	s3://BUCKET[/PREFIX]?endpoint=URL&region=R&path_style=true
//	                                            the S3 backend (storage/s3)
//
// The s3 query keys are all optional: endpoint is the base URL of a
// self-hosted S3-compatible server (empty: Amazon S3), region defaults to
// the AWS SDK's and then us-east-1, path_style (a boolean) addresses buckets
// as ENDPOINT/BUCKET. Other keys are an error naming them. Credentials never
// go in the URL, which ends up in logs, process lists and config files: they
// come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, the shared credentials file, an instance role). A
// URL with user info is rejected, and no error repeats a password or a
// query value that was not understood.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
)

// Kinds of storage.
const (
	KindFile = "file"
	KindS3   = "s3"
)

// Spec is a parsed storage URL.
type Spec struct {
	Kind string // KindFile or KindS3
	// Dir is the folder of a file store.
	Dir string
	// S3 is the configuration of an S3 store; its credentials are empty
	// (the default chain supplies them).
	S3 s3.Config
}

// String describes the store, for logs.
func (s Spec) String() string {
	if s.Kind == KindFile {
		return "folder " + s.Dir
	}
	return s.S3.String()
}

var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://`)

// Parse parses a storage URL; see the package doc.
func Parse(s string) (Spec, error) {
	switch {
	case s == "":
		return Spec{}, errors.New("storage: empty storage URL")
	case strings.HasPrefix(s, "s3://"):
		return parseS3(s)
	case strings.HasPrefix(s, "file:"):
		return parseFile(strings.TrimPrefix(s, "file:"))
	case schemeRE.MatchString(s):
		scheme, _, _ := strings.Cut(s, "://")
		return Spec{}, fmt.Errorf("storage: unknown storage scheme %q (want file:DIR or s3://BUCKET)", scheme)
	}
	return Spec{Kind: KindFile, Dir: s}, nil
}

// parseFile accepts "DIR" and "///ABS/DIR" (from file:///ABS/DIR).
func parseFile(rest string) (Spec, error) {
	if strings.HasPrefix(rest, "//") {
		host, p, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "/")
		if host != "" && host != "localhost" {
			return Spec{}, fmt.Errorf("storage: file URL names host %q; only local folders are supported", host)
		}
		rest = "/" + p
	}
	if rest == "" {
		return Spec{}, errors.New("storage: file: needs a folder, as in file:/var/lib/osprey")
	}
	return Spec{Kind: KindFile, Dir: rest}, nil
}

func parseS3(s string) (Spec, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL; keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Spec{}, fmt.Errorf("storage: invalid s3 URL: %w", err)
	}
	if u.User != nil {
		return Spec{}, errors.New("storage: credentials in the s3 URL are not accepted; " +
			"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use the AWS shared credentials file")
	}
	if u.Host == "" {
		return Spec{}, errors.New("storage: the s3 URL names no bucket, as in s3://BUCKET/PREFIX")
	}
	if u.Fragment != "" {
		return Spec{}, errors.New("storage: the s3 URL has a #fragment")
	}
	cfg := s3.Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Spec{}, errors.New("storage: the s3 URL has a malformed query")
	}
	if err := applyQuery(&cfg, q); err != nil {
		return Spec{}, err
	}
	return Spec{Kind: KindS3, S3: cfg}, nil
}

func applyQuery(cfg *s3.Config, q url.Values) error {
	var unknown []string
	for k, vs := range q {
		if len(vs) > 1 {
			return fmt.Errorf("storage: s3 URL query key %q is given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "endpoint":
			if err := checkEndpoint(v); err != nil {
				return err
			}
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("storage: s3 URL path_style=%q is not a boolean (true or false)", v)
			}
			cfg.PathStyle = b
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("storage: unknown s3 URL query keys %q (known: endpoint, region, path_style)", unknown)
	}
	return nil
}

// checkEndpoint accepts an http(s) URL without user info.
func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return errors.New("storage: s3 URL endpoint is not a valid http:// or https:// URL")
	case u.User != nil:
		return errors.New("storage: s3 URL endpoint must not contain credentials")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("storage: s3 URL endpoint %q is not an http:// or https:// URL", v)
	}
	return nil
}

// Open parses s and opens the store it names. For S3 it checks that the
// bucket is reachable; the error then names the endpoint and the bucket.
func Open(ctx context.Context, s string, log *slog.Logger) (storage.Store, error) {
	spec, err := Parse(s)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st storage.Store
	switch spec.Kind {
	case KindFile:
		st, err = fs.New(spec.Dir)
	case KindS3:
		st, err = s3.New(ctx, spec.S3)
	}
	if err != nil {
		return nil, err
	}
	log.Info("storage opened", "storage", spec.String())
	return st, nil
}
