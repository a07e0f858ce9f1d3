package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// versitygwModule is the S3-compatible server the tests use (s3test), at
// the same version.
const versitygwModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

const s3Region = "us-east-1"

// s3Server is a versitygw serving a folder on a loopback port.
type s3Server struct {
	endpoint, access, secret string
	cmd                      *exec.Cmd
	done                     chan struct{}
}

// startS3 starts versitygw (installing it with go install when missing)
// with its data in dir, and waits until it answers.
func startS3(dir string) (*s3Server, error) {
	bin, err := versitygwBinary()
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
	srv := &s3Server{endpoint: "http://" + addr, access: "originbench", secret: hex.EncodeToString(secret), done: make(chan struct{})}
	var out bytes.Buffer
	srv.cmd = exec.Command(bin, "--access", srv.access, "--secret", srv.secret, "--port", addr,
		"--region", s3Region, "--quiet", "posix", dir)
	srv.cmd.Stdout, srv.cmd.Stderr = &out, &out
	if err := srv.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	go func() { _ = srv.cmd.Wait(); close(srv.done) }()
	client := srv.client()
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
			srv.stop()
			return nil, fmt.Errorf("versitygw did not answer within 20 s: %w", err)
		}
	}
}

// versitygwBinary finds versitygw where go install puts it, else on PATH,
// else installs it.
func versitygwBinary() (string, error) {
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
	log.Printf("installing versitygw: go install %s", versitygwModule)
	cmd := exec.Command("go", "install", versitygwModule)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", versitygwModule, err)
	}
	return bin, nil
}

func (srv *s3Server) client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       s3Region,
		BaseEndpoint: aws.String(srv.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.access, srv.secret, ""),
	})
}

// store creates bucket and returns an s3.Store on it.
func (srv *s3Server) store(ctx context.Context, bucket string) (*s3.Store, error) {
	if _, err := srv.client().CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	return s3.New(ctx, s3.Config{
		Bucket: bucket, Endpoint: srv.endpoint, Region: s3Region, PathStyle: true,
		AccessKeyID: srv.access, SecretAccessKey: srv.secret,
	})
}

func (srv *s3Server) pid() int { return srv.cmd.Process.Pid }

// stop interrupts versitygw and waits for it (killing it after 5 s).
func (srv *s3Server) stop() {
	_ = srv.cmd.Process.Signal(os.Interrupt)
	select {
	case <-srv.done:
	case <-time.After(5 * time.Second):
		_ = srv.cmd.Process.Kill()
		<-srv.done
	}
}

var errNoRequests = errors.New("no requests completed")
