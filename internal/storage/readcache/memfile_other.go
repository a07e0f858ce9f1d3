//go:build !linux

package readcache

import (
	"errors"
	"io"
	"os"
)

// memFile is Linux only; elsewhere bodies stay on the heap.
type memFile struct{}

func newMemFile(string, string) (*memFile, error) { return nil, errors.ErrUnsupported }

func (*memFile) fill(io.Reader, int64) error { return errors.ErrUnsupported }

func (*memFile) reopen() *os.File { return nil }

func (*memFile) drop() {}

// CheckDir fails: cache files are Linux only.
func CheckDir(dir string) error { return errors.ErrUnsupported }
