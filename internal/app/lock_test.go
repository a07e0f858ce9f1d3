package app

import (
	"strings"
	"testing"
)

func TestDataFolderIsLockedWhileHeld(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another osprey process") {
		t.Fatalf("second lock: %v, want the in-use error", err)
	}
	release()
	release2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}
