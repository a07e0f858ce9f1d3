// Package s3 is the storage.Store on an S3-compatible object store: Amazon
// S3, or a self-hosted server (MinIO, Ceph RGW, Garage, versitygw) reached
// through Config.Endpoint.
//
// Keys are stored as Config.Prefix + key in Config.Bucket. Put is one
// PutObject, which S3 applies atomically: readers get the previous object or
// the whole new one. Open is one GetObject whose response gives both the
// Info and the byte stream, so they always describe the same version. The
// stream is read as the caller reads, never buffered whole; a Seek only
// records the offset, and the next Read reopens the object at it with a
// Range request conditioned on the opened version's ETag (If-Match). If the
// object was replaced meanwhile, that Read fails with ErrChanged rather than
// return bytes of another version.
//
// Requests go through the AWS SDK's standard retryer (3 attempts with
// exponential backoff and jitter up to 2 s, for throttling, 5xx and
// connection errors; no client-wide retry quota), bounded by the caller's
// context. Credentials come from the SDK's default
// chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config and
// credentials files, web identity, ECS or EC2 roles) unless Config sets a
// static key pair.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Defaults for Config's zero values.
const (
	DefaultRegion       = "us-east-1"
	DefaultCheckTimeout = 10 * time.Second
	dialTimeout         = 5 * time.Second
	maxBatch            = 1000 // DeleteObjects' limit, and ListObjectsV2's page size
)

// Config says where objects are stored.
type Config struct {
	// Bucket must exist; New does not create it.
	Bucket string
	// Prefix is prepended to every key, so several deployments can share a
	// bucket. A trailing slash is added when missing.
	Prefix string
	// Endpoint is the base URL of a self-hosted S3-compatible server, such
	// as "http://127.0.0.1:7070". Empty means Amazon S3.
	Endpoint string
	// Region defaults to the SDK's (AWS_REGION, shared config), else us-east-1.
	Region string
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY rather than as
	// BUCKET.ENDPOINT/KEY; most self-hosted servers need it.
	PathStyle bool
	// AccessKeyID and SecretAccessKey, when both are set, are used instead
	// of the default credential chain.
	AccessKeyID     string
	SecretAccessKey string
	// CheckTimeout bounds New's check that the bucket is reachable
	// (default DefaultCheckTimeout).
	CheckTimeout time.Duration
}

// String describes c without its secret key.
func (c Config) String() string {
	return fmt.Sprintf("s3 bucket %q prefix %q at %s", c.Bucket, c.Prefix, c.where())
}

// where names the endpoint for messages.
func (c Config) where() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return "Amazon S3"
}

// Store keeps objects in an S3 bucket. It is safe for concurrent use.
type Store struct {
	client   *awss3.Client
	bucket   string
	prefix   string
	where    string
	pageSize int32 // keys listed and deleted per request; tests lower it
}

var _ storage.Store = (*Store)(nil)

// New connects to the bucket and checks that it is reachable with the
// credentials (HeadBucket). Its error names the endpoint and the bucket.
func New(ctx context.Context, cfg Config) (*Store, error) {
	prefix, err := normalizePrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, errors.New("storage/s3: no bucket given")
	}
	if err := checkEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("storage/s3: loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	s := &Store{client: client, bucket: cfg.Bucket, prefix: prefix, where: cfg.where(), pageSize: maxBatch}

	timeout := cfg.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := client.HeadBucket(cctx, &awss3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, fmt.Errorf("storage/s3: bucket %q at %s is not reachable%s: %w", cfg.Bucket, s.where, hint(err, timeout), err)
	}
	return s, nil
}

func loadOptions(cfg Config) []func(*config.LoadOptions) error {
	httpClient := awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = dialTimeout
	})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(newRetryer),
		// Checksums only where S3 requires them (DeleteObjects): many
		// S3-compatible servers reject the SDK's default trailing checksums.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	return opts
}

// newRetryer is the SDK's standard retryer (3 attempts, exponential
// backoff with jitter) without its client-wide retry quota: a store is
// shared by every channel, job and request of the process, and after about
// 50 refused writes in an outage the quota would leave every caller
// without retries until enough successes refilled it. Callers bound their
// retries with their deadlines instead. Backoff is capped at 2 s (the
// SDK's 20 s is longer than a live segment's whole budget).
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.RateLimiter = ratelimit.None
		o.MaxBackoff = maxRetryBackoff
	})
}

// maxRetryBackoff caps the pause between two attempts of one request.
const maxRetryBackoff = 2 * time.Second

// Put stores data under key with one PutObject.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage/s3: put %q: %w", key, err)
	}
	_, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("storage/s3: put %q: %w", key, err)
	}
	return nil
}

// Open opens the object under key with one GetObject; see the package doc.
// The Object's later reads use ctx too.
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if err != nil {
		return nil, fmt.Errorf("storage/s3: open %q: %w", key, mapErr(err))
	}
	return newObject(ctx, s, key, out)
}

// Delete removes the object under key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + key),
	})
	if err != nil && !errors.Is(mapErr(err), storage.ErrNotFound) {
		return fmt.Errorf("storage/s3: delete %q: %w", key, err)
	}
	return nil
}

// checkEndpoint accepts "" or an http(s) URL without credentials. Its
// errors never repeat a password.
func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return errors.New("storage/s3: the endpoint is not a valid http:// or https:// URL")
	case u.User != nil:
		return fmt.Errorf("storage/s3: endpoint %q must not contain credentials", u.Redacted())
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("storage/s3: endpoint %q is not an http:// or https:// URL", endpoint)
	}
	return nil
}

// hint suggests a cause for a failed HeadBucket.
func hint(err error, timeout time.Duration) string {
	var re *awshttp.ResponseError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf(" (no answer within %v)", timeout)
	case errors.As(err, &re) && re.HTTPStatusCode() == 403:
		return " (check the access key and secret)"
	case errors.As(err, &re) && re.HTTPStatusCode() == 404:
		return " (does the bucket exist, and is the access key known?)"
	}
	return ""
}

// trimKey returns the store key of a full object key.
func (s *Store) trimKey(full string) string { return strings.TrimPrefix(full, s.prefix) }
