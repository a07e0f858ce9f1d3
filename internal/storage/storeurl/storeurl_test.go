package storeurl_test

import (
	"context"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
	"github.com/ospreyvideo/osprey/internal/storage/storeurl"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want storeurl.Spec
	}{
		{"/var/lib/osprey", storeurl.Spec{Kind: "file", Dir: "/var/lib/osprey"}},
		{"data/media", storeurl.Spec{Kind: "file", Dir: "data/media"}},
		{"file:/var/lib/osprey", storeurl.Spec{Kind: "file", Dir: "/var/lib/osprey"}},
		{"file:data", storeurl.Spec{Kind: "file", Dir: "data"}},
		{"file:///var/lib/osprey", storeurl.Spec{Kind: "file", Dir: "/var/lib/osprey"}},
		{"file://localhost/srv", storeurl.Spec{Kind: "file", Dir: "/srv"}},
		{"s3://media", storeurl.Spec{Kind: "s3", S3: s3.Config{Bucket: "media"}}},
		{"s3://media/osprey/prod/", storeurl.Spec{Kind: "s3", S3: s3.Config{Bucket: "media", Prefix: "osprey/prod"}}},
		{"s3://media/p?endpoint=http://127.0.0.1:7070&region=eu-west-1&path_style=true",
			storeurl.Spec{Kind: "s3", S3: s3.Config{Bucket: "media", Prefix: "p",
				Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1", PathStyle: true}}},
		{"s3://media?path_style=0&endpoint=https%3A%2F%2Fs3.example.com",
			storeurl.Spec{Kind: "s3", S3: s3.Config{Bucket: "media", Endpoint: "https://s3.example.com"}}},
	}
	for _, tc := range tests {
		got, err := storeurl.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		mention []string // the error must name these
		secret  string   // and must not contain this
	}{
		{"", []string{"empty"}, ""},
		{"gs://bucket", []string{`"gs"`}, ""},
		{"file:", []string{"folder"}, ""},
		{"file://otherhost/x", []string{"otherhost"}, ""},
		{"s3://", []string{"no bucket"}, ""},
		{"s3:///prefix", []string{"no bucket"}, ""},
		{"s3://media?region=r&colour=blue", []string{`"colour"`}, "blue"},
		{"s3://media?secret_key=hunter2&access_key=AKIA", []string{`"access_key"`, `"secret_key"`}, "hunter2"},
		{"s3://AKIA:hunter2@media/p", []string{"AWS_SECRET_ACCESS_KEY"}, "hunter2"},
		{"s3://media?endpoint=http://u:hunter2@127.0.0.1:7070", []string{"credentials"}, "hunter2"},
		{"s3://media?endpoint=127.0.0.1:7070", []string{"http://"}, ""},
		{"s3://media?path_style=yes", []string{"path_style", "boolean"}, ""},
		{"s3://media?region=a&region=b", []string{`"region"`, "2 times"}, ""},
		{"s3://media?region=%zz&x=hunter2", []string{"malformed"}, "hunter2"},
		{"s3://me dia:hunter2@x", []string{"invalid"}, "hunter2"},
		{"s3://media#frag", []string{"fragment"}, ""},
	}
	for _, tc := range tests {
		_, err := storeurl.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", tc.in)
			continue
		}
		msg := err.Error()
		for _, m := range tc.mention {
			if !strings.Contains(msg, m) {
				t.Errorf("Parse(%q) error %q does not mention %q", tc.in, msg, m)
			}
		}
		if tc.secret != "" && strings.Contains(msg, tc.secret) {
			t.Errorf("Parse(%q) error %q repeats the secret", tc.in, msg)
		}
	}
}

func TestOpenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "media")
	for _, u := range []string{dir, "file:" + dir} {
		st, err := storeurl.Open(context.Background(), u, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		roundTrip(t, st)
	}
}

// TestOpenS3 opens a real S3-compatible server through a URL, with the
// credentials from the environment as an operator would provide them.
func TestOpenS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	u := "s3://" + bucket + "/osprey?path_style=true&endpoint=" + srv.Endpoint
	st, err := storeurl.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatalf("Open(%q): %v", u, err)
	}
	roundTrip(t, st)

	missing := "s3://no-such-bucket?path_style=true&endpoint=" + srv.Endpoint
	if _, err := storeurl.Open(context.Background(), missing, nil); err == nil ||
		!strings.Contains(err.Error(), "no-such-bucket") || !strings.Contains(err.Error(), srv.Endpoint) {
		t.Errorf("Open of a missing bucket = %v, want an error naming the bucket and %s", err, srv.Endpoint)
	}
}

func roundTrip(t *testing.T, st storage.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.Put(ctx, "live/a/1.m4s", []byte("segment")); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Open(ctx, "live/a/1.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, err := io.ReadAll(obj); err != nil || string(b) != "segment" {
		t.Fatalf("read %q, %v; want segment", b, err)
	}
}
