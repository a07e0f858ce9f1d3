package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// inTx runs fn in a transaction on the writer connection (BEGIN IMMEDIATE,
// so it holds the write lock from the start), committing if fn returns nil
// and rolling back otherwise. fn's error is returned unwrapped.
//
// The writer pool has one connection, which fn's transaction holds: fn must
// do all its writing through tx, never through the Store's write methods.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog/sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			s.log.Warn("rollback failed", "err", rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog/sqlite: commit: %w", err)
	}
	return nil
}

// formatOptTime is formatTime, with the zero time stored as "".
func formatOptTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// parseOptTime reverses formatOptTime.
func parseOptTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}
