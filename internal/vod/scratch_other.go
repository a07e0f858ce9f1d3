//go:build !linux

package vod

// freeSpace is unknown (-1) here: only the configured limit applies.
func freeSpace(dir string) (int64, error) { return -1, nil }
