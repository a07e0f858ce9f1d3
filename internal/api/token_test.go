package api

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadOrCreateAdminTokenFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got, err := LoadOrCreateAdminToken(dir, "  my-own-token-123456  ", nil)
	if err != nil || got != "my-own-token-123456" {
		t.Fatalf("token = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, AdminTokenFile)); !os.IsNotExist(err) {
		t.Errorf("token file written although the token came from the environment: %v", err)
	}
}

func TestLoadOrCreateAdminTokenGeneratesOnceAndReuses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	first, err := LoadOrCreateAdminToken(dir, "", log)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^osp_[a-z2-7]{32}$`).MatchString(first) {
		t.Errorf("generated token %q has the wrong form", first)
	}
	path := filepath.Join(dir, AdminTokenFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("token file mode = %o, want 600", mode)
	}
	if data, _ := os.ReadFile(path); string(data) != first+"\n" {
		t.Errorf("file holds %q", data)
	}
	if n := strings.Count(logs.String(), "admin token generated"); n != 1 || !strings.Contains(logs.String(), path) {
		t.Errorf("log = %q, want one announcement naming %s", logs.String(), path)
	}
	if !strings.Contains(logs.String(), first) {
		t.Error("the generated token was not printed on first start")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the token file", len(entries))
	}

	logs.Reset()
	second, err := LoadOrCreateAdminToken(dir, "", log)
	if err != nil || second != first {
		t.Fatalf("second start: token %q, %v; want %q", second, err, first)
	}
	if logs.Len() != 0 {
		t.Errorf("second start logged %q; the token is printed only when generated", logs.String())
	}

	third, err := LoadOrCreateAdminToken(dir, "from-env-wins-0123456", log)
	if err != nil || third != "from-env-wins-0123456" {
		t.Fatalf("env token: %q, %v", third, err)
	}
}

func TestLoadOrCreateAdminTokenEmptyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateAdminToken(dir, "", nil); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("err = %v, want an error about the empty file", err)
	}
}

func TestShortEnvTokenWarns(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	if _, err := LoadOrCreateAdminToken(t.TempDir(), "abc", slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning for a short token: %q", logs.String())
	}
}
