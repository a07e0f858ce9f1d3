// Package s3kit runs an S3-compatible server (versitygw, the version the
// tests use) on a loopback port for the benchmark tools.
package s3kit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
)

// Module is the S3-compatible server the tests use (s3test), at
// the same version.
const Module = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Region is the region the server is started with.
const Region = "us-east-1"

// Server is a versitygw serving a folder on a loopback port.
type Server struct {
	Endpoint, Access, Secret string
	cmd                      *exec.Cmd
	done                     chan struct{}
}

// Start starts versitygw (installing it with go install when missing)
// with its data in dir, and waits until it answers.
func Start(dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	srv := &Server{Endpoint: "http://" + addr, Access: "osprey-bench", Secret: hex.EncodeToString(secret), done: make(chan struct{})}
	var out bytes.Buffer
	srv.cmd = exec.Command(bin, "--access", srv.Access, "--secret", srv.Secret, "--port", addr,
		"--region", Region, "--quiet", "posix", dir)
	srv.cmd.Stdout, srv.cmd.Stderr = &out, &out
	if err := srv.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	go func() { _ = srv.cmd.Wait(); close(srv.done) }()
	client := srv.Client()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.ListBuckets(ctx, &awss3.ListBucketsInput{})
		cancel()
		if err == nil {
			return srv, nil
		}
		select {
		case <-srv.done:
			return nil, fmt.Errorf("versitygw exited at start: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.Stop()
			return nil, fmt.Errorf("versitygw did not answer within 20 s: %w", err)
		}
	}
}

// binary finds versitygw where go install puts it, else on PATH,
// else installs it.
func binary() (string, error) {
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOPATH: %w", err)
		}
		gobin = filepath.Join(filepath.SplitList(string(bytes.TrimSpace(out)))[0], "bin")
	}
	bin := filepath.Join(gobin, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	log.Printf("installing versitygw: go install %s", Module)
	cmd := exec.Command("go", "install", Module)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", Module, err)
	}
	return bin, nil
}

// Client is an S3 client of the server.
func (srv *Server) Client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.Access, srv.Secret, ""),
	})
}

// Store creates bucket and returns an s3.Store on it.
func (srv *Server) Store(ctx context.Context, bucket string) (*s3.Store, error) {
	if _, err := srv.Client().CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	return s3.New(ctx, s3.Config{
		Bucket: bucket, Endpoint: srv.Endpoint, Region: Region, PathStyle: true,
		AccessKeyID: srv.Access, SecretAccessKey: srv.Secret,
	})
}

// PID is the server process.
func (srv *Server) PID() int { return srv.cmd.Process.Pid }

// Stop interrupts versitygw and waits for it (killing it after 5 s).
func (srv *Server) Stop() {
	_ = srv.cmd.Process.Signal(os.Interrupt)
	select {
	case <-srv.done:
	case <-time.After(5 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.done
	}
}
