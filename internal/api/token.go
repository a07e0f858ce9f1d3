package api

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// AdminTokenFile is the name of the file in the data directory that holds a
// generated admin token.
const AdminTokenFile = "admin-token"

// minTokenLen is the length below which a configured token draws a warning.
const minTokenLen = 16

// LoadOrCreateAdminToken returns the admin token: fromEnv (OSPREY_ADMIN_TOKEN)
// if set; otherwise the token stored in <dataDir>/admin-token; otherwise a
// new random token, which it stores there with mode 0600 (written atomically)
// and prints once in the log, on that first start only, so that whoever
// started the server can use it; later starts read the file and never log it.
func LoadOrCreateAdminToken(dataDir, fromEnv string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if token := strings.TrimSpace(fromEnv); token != "" {
		if len(token) < minTokenLen {
			log.Warn("OSPREY_ADMIN_TOKEN is short; use at least 16 random characters", "length", len(token))
		}
		return token, nil
	}
	path := filepath.Join(dataDir, AdminTokenFile)
	token, err := ReadAdminTokenFile(dataDir)
	if err == nil {
		return token, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	token = "osp_" + catalog.RandomString(20)
	if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("storing the admin token: %w", err)
	}
	log.Info("admin token generated (shown this once; set OSPREY_ADMIN_TOKEN to choose your own)", "token", token, "path", path)
	return token, nil
}

// ReadAdminTokenFile reads <dataDir>/admin-token. The error wraps
// fs.ErrNotExist when there is no such file.
func ReadAdminTokenFile(dataDir string) (string, error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the admin token: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("admin token file %s is empty; delete it to generate a new token", path)
	}
	return token, nil
}

// writeFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", f.Name(), err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming to %s: %w", path, err)
	}
	return nil
}

// newChannelID returns "ch_" + 80 random bits.
func newChannelID() string { return catalog.NewID("ch_") }

// newStreamKey returns "sk_" + 160 random bits.
func newStreamKey() string { return "sk_" + catalog.RandomString(20) }
