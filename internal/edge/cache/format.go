package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A disk entry is one file:
//
//	offset  size  field
//	0       4     magic "OSPC"
//	4       1     format version (1)
//	5       3     reserved, zero
//	8       4     header length N, big-endian uint32 (1 <= N <= maxHeaderLen)
//	12      4     CRC-32C (Castagnoli) of the header, big-endian
//	16      N     header: the Meta as JSON (unknown fields rejected)
//	16+N    Size  body, Meta.Size bytes, to the end of the file
//
// The file is written to Dir/tmp and renamed into place, so a crash leaves
// either no file or a complete one; a truncated or foreign file fails
// decoding (magic, version, CRC, JSON, sizes) and is deleted by Open.

const (
	fileMagic    = "OSPC"
	fileVersion  = 1
	prefixLen    = 16
	maxHeaderLen = 1 << 20
)

// errFormat marks a file that is not a valid cache entry.
var errFormat = errors.New("not a cache entry")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encodeHeader returns the prefix and JSON header of m: everything that
// precedes the body.
func encodeHeader(m *Meta) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(make([]byte, prefixLen))
	if err := json.NewEncoder(&buf).Encode(m); err != nil {
		return nil, fmt.Errorf("encoding header of %q: %w", m.Key, err)
	}
	b := buf.Bytes()
	n := len(b) - prefixLen
	if n > maxHeaderLen {
		return nil, fmt.Errorf("encoding header of %q: %d bytes, more than %d", m.Key, n, maxHeaderLen)
	}
	copy(b, fileMagic)
	b[4] = fileVersion
	binary.BigEndian.PutUint32(b[8:], uint32(n))
	binary.BigEndian.PutUint32(b[12:], crc32.Checksum(b[prefixLen:], crcTable))
	return b, nil
}

// decodeHeader reads the prefix and header of an entry file from r and
// returns its Meta and the body's offset. Any malformed input yields an
// error wrapping errFormat (or the read error).
func decodeHeader(r io.Reader) (Meta, int64, error) {
	var prefix [prefixLen]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return Meta{}, 0, fmt.Errorf("reading prefix: %w", asFormat(err))
	}
	if string(prefix[:4]) != fileMagic {
		return Meta{}, 0, fmt.Errorf("bad magic %q: %w", prefix[:4], errFormat)
	}
	if prefix[4] != fileVersion {
		return Meta{}, 0, fmt.Errorf("version %d, want %d: %w", prefix[4], fileVersion, errFormat)
	}
	if prefix[5]|prefix[6]|prefix[7] != 0 {
		return Meta{}, 0, fmt.Errorf("reserved bytes not zero: %w", errFormat)
	}
	n := binary.BigEndian.Uint32(prefix[8:])
	if n == 0 || n > maxHeaderLen {
		return Meta{}, 0, fmt.Errorf("header length %d out of range: %w", n, errFormat)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Meta{}, 0, fmt.Errorf("reading %d-byte header: %w", n, asFormat(err))
	}
	if got, want := crc32.Checksum(hdr, crcTable), binary.BigEndian.Uint32(prefix[12:]); got != want {
		return Meta{}, 0, fmt.Errorf("header checksum %08x, want %08x: %w", got, want, errFormat)
	}
	m, err := parseMeta(hdr)
	if err != nil {
		return Meta{}, 0, err
	}
	return m, prefixLen + int64(n), nil
}

// asFormat turns a short read into errFormat: the file is truncated.
func asFormat(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", errFormat)
	}
	return err
}

// parseMeta decodes and validates a JSON header.
func parseMeta(hdr []byte) (Meta, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.DisallowUnknownFields()
	var m Meta
	if err := dec.Decode(&m); err != nil {
		return Meta{}, fmt.Errorf("decoding header: %w: %w", errFormat, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Meta{}, fmt.Errorf("data after header: %w", errFormat)
	}
	switch {
	case m.Key == "":
		return Meta{}, fmt.Errorf("empty key: %w", errFormat)
	case m.Status < 0 || m.Status > 999:
		return Meta{}, fmt.Errorf("status %d: %w", m.Status, errFormat)
	case m.Size < 0:
		return Meta{}, fmt.Errorf("size %d: %w", m.Size, errFormat)
	case m.Stored.IsZero():
		return Meta{}, fmt.Errorf("no stored time: %w", errFormat)
	case m.Stored.Year() < 0 || m.Stored.Year() > 9999:
		// Meta could not be encoded again (RFC 3339 years).
		return Meta{}, fmt.Errorf("stored year %d: %w", m.Stored.Year(), errFormat)
	}
	return m, nil
}
