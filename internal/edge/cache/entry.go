package cache

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Entry is one cached response, as returned by Get. The cache shares it with
// every caller: treat it, its Meta and its Header as read-only.
type Entry struct {
	Meta Meta
	Tier Tier

	body  []byte    // TierMemory
	file  *diskFile // TierDisk
	dirty bool      // TierDisk: Meta is newer than the file's header (Refresh pending)
}

// Body is an entry's body, open for reading.
type Body interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
}

// Open returns the body: a bytes.Reader (no-op Close) for memory entries,
// the body section of the file for disk entries (closed by Close). It works
// even if the entry is evicted after Get, as long as the file is still
// there; once the file is gone, Open returns an error wrapping
// fs.ErrNotExist, which the caller treats as a miss.
func (e *Entry) Open() (Body, error) {
	if e.file == nil {
		return memBody{bytes.NewReader(e.body)}, nil
	}
	f, err := os.Open(e.file.path)
	if err != nil {
		return nil, fmt.Errorf("opening cached body of %q: %w", e.Meta.Key, err)
	}
	return &fileBody{SectionReader: io.NewSectionReader(f, e.file.bodyOff, e.Meta.Size), f: f}, nil
}

// OpenFile opens a disk entry's file positioned at the start of its body
// (Meta.Size bytes follow), so that a caller can send it with sendfile by
// copying from io.LimitReader(f, Meta.Size). For a memory entry it returns
// nil and no error. The caller closes f.
func (e *Entry) OpenFile() (*os.File, error) {
	if e.file == nil {
		return nil, nil
	}
	f, err := os.Open(e.file.path)
	if err != nil {
		return nil, fmt.Errorf("opening cached body of %q: %w", e.Meta.Key, err)
	}
	if _, err := f.Seek(e.file.bodyOff, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seeking to the cached body of %q: %w", e.Meta.Key, err)
	}
	return f, nil
}

// Bytes returns the body of a memory entry, nil for a disk entry.
func (e *Entry) Bytes() []byte {
	if e.file != nil {
		return nil
	}
	return e.body
}

// memBody is the Body of a memory entry.
type memBody struct{ *bytes.Reader }

func (memBody) Close() error { return nil }

// fileBody is the Body of a disk entry: a section of its open file.
type fileBody struct {
	*io.SectionReader
	f *os.File
}

func (b *fileBody) Close() error { return b.f.Close() }
