package main

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ospreyvideo/osprey/bench/internal/s3kit"
)

// latencyStorage compares ingest-to-playlist latency with file storage and
// with S3 storage (versitygw on loopback), one server of each per round,
// their order alternating, and prints the medians per round and overall.
func (b *bench) latencyStorage(rounds int) {
	srv, err := s3kit.Start(filepath.Join(b.work, "s3"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	const bucket = "livebench"
	if _, err := srv.Client().CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		log.Fatalf("creating the bucket: %v", err)
	}
	// osprey takes S3 credentials from the AWS SDK's chain.
	os.Setenv("AWS_ACCESS_KEY_ID", srv.Access)
	os.Setenv("AWS_SECRET_ACCESS_KEY", srv.Secret)
	os.Setenv("AWS_REGION", s3kit.Region)

	type result struct{ first, last time.Duration }
	var files, s3s []result
	measure := func(kind string, round int) result {
		dir := filepath.Join(b.work, fmt.Sprintf("latency-%s-%d", kind, round))
		// The low ladder (720p, 360p) without load shedding: the comparison
		// is of storage, on a machine that may be busy.
		extra := []string{"--ladder", "low", "--no-shed-load"}
		if kind == "s3" {
			extra = append(extra, "--storage", fmt.Sprintf("s3://%s/round%d?endpoint=%s&path_style=true", bucket, round, url.QueryEscape(srv.Endpoint)))
		}
		s := startServer(b.osprey, dir, extra...)
		defer s.stop()
		first, last := b.measureLatency(s)
		r := result{first: percentile(first, .5), last: percentile(last, .5)}
		log.Printf("round %d %s: last frame %v, first frame %v (medians of %d segments)", round, kind, r.last, r.first, len(last))
		return r
	}
	fmt.Printf("\n### Ingest-to-playlist latency: S3 storage against file storage (720p rung of the low ladder, medians per round)\n\n")
	fmt.Println("| round | first | file: last frame | S3: last frame | S3 − file | file: first frame | S3: first frame |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for round := 1; round <= rounds; round++ {
		var f, s result
		order := "file"
		if round%2 == 0 {
			order = "s3"
			s = measure("s3", round)
			f = measure("file", round)
		} else {
			f = measure("file", round)
			s = measure("s3", round)
		}
		files, s3s = append(files, f), append(s3s, s)
		fmt.Printf("| %d | %s | %s | %s | %+.0f ms | %s | %s |\n", round, order, secs(f.last), secs(s.last),
			float64(s.last-f.last)/float64(time.Millisecond), secs(f.first), secs(s.first))
	}
	lasts := func(rs []result) (out []time.Duration) {
		for _, r := range rs {
			out = append(out, r.last)
		}
		return out
	}
	firsts := func(rs []result) (out []time.Duration) {
		for _, r := range rs {
			out = append(out, r.first)
		}
		return out
	}
	fl, sl := percentile(lasts(files), .5), percentile(lasts(s3s), .5)
	fmt.Printf("| **median** | | %s | %s | **%+.0f ms** | %s | %s |\n", secs(fl), secs(sl),
		float64(sl-fl)/float64(time.Millisecond), secs(percentile(firsts(files), .5)), secs(percentile(firsts(s3s), .5)))
}
