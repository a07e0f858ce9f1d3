// Package s3test runs a real S3-compatible server for tests: versitygw
// (github.com/versity/versitygw) serving a temporary directory. Tests of
// other packages that need S3 storage use it too.
//
// The binary must be installed (scripts/test does it):
//
//	GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// When it is missing, Start fails the test with that command. The temporary
// directory must support user extended attributes (ext4, XFS, Btrfs and
// recent tmpfs do), where versitygw keeps ETags.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
)

// Version is the versitygw release the tests are written against.
const Version = "v1.8.0"

// InstallCommand installs the server binary.
const InstallCommand = "GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@" + Version

const (
	region       = "us-east-1"
	startTimeout = 20 * time.Second
)

// Server is a running versitygw. Its fields are read-only.
type Server struct {
	Endpoint  string // "http://HOST:PORT"
	AccessKey string
	SecretKey string

	client  *awss3.Client
	buckets atomic.Int64
}

// Start starts versitygw on a free port of 127.0.0.1 with a temporary
// directory, waits until it answers, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1")
}

// StartOn is Start on a free port of the local address host (for tests
// whose nodes reach the server from other network namespaces).
func StartOn(t testing.TB, host string) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{AccessKey: "osprey-test", SecretKey: randomHex(t)}
	var lastErr error
	for range 3 { // another process may grab the free port first
		if lastErr = srv.start(t, bin, host); lastErr == nil {
			return srv
		}
	}
	t.Fatalf("s3test: starting versitygw: %v", lastErr)
	return nil
}

// binary finds versitygw in $GOBIN, $GOPATH/bin or ~/go/bin, where go
// install puts the pinned version, else on PATH.
func binary() (string, error) {
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		dirs = append(dirs, filepath.Join(filepath.SplitList(d)[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("s3test: the S3 test server versitygw is not installed (looked in %v and on PATH); install it with:\n\t%s", dirs, InstallCommand)
}

func (srv *Server) start(t testing.TB, bin, host string) error {
	addr, err := freeAddr(host)
	if err != nil {
		return err
	}
	dir := t.TempDir()
	var out lockedBuffer
	cmd := exec.Command(bin, "--access", srv.AccessKey, "--secret", srv.SecretKey,
		"--port", addr, "--region", region, "--quiet", "posix", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	srv.Endpoint = "http://" + addr
	srv.client = awss3.New(awss3.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	})
	if err := srv.waitReady(exited); err != nil {
		stop()
		if waitErr != nil {
			err = fmt.Errorf("%w (exit: %v)", err, waitErr)
		}
		return fmt.Errorf("%w; output:\n%s", err, out.String())
	}
	t.Cleanup(stop)
	return nil
}

func (srv *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := srv.client.ListBuckets(ctx, &awss3.ListBucketsInput{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("versitygw exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer within %v: %w", startTimeout, err)
		}
	}
}

// NewBucket creates an empty bucket and returns its name.
func (srv *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("osprey-test-%d", srv.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: creating bucket %s: %v", name, err)
	}
	return name
}

// Config returns the s3.Config of bucket on this server.
func (srv *Server) Config(bucket string) s3.Config {
	return s3.Config{
		Bucket:          bucket,
		Endpoint:        srv.Endpoint,
		Region:          region,
		PathStyle:       true,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
	}
}

// Store creates a new bucket and returns a Store on it with the given key
// prefix ("" for none).
func (srv *Server) Store(t testing.TB, prefix string) *s3.Store {
	t.Helper()
	cfg := srv.Config(srv.NewBucket(t))
	cfg.Prefix = prefix
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func freeAddr(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// lockedBuffer collects the server's output from two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
