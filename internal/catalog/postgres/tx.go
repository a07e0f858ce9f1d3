package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// inTx runs fn in a transaction (READ COMMITTED, the server default),
// committing if fn returns nil and rolling back otherwise. fn's error is
// returned unwrapped.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("catalog/postgres: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		// Roll back even if ctx is done, so the connection goes back clean.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := tx.Rollback(rctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			s.log.Warn("rollback failed", "err", rerr)
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("catalog/postgres: commit: %w", err)
	}
	return nil
}

// stamp is the current time at the stored precision.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// ts is t as stored: UTC, truncated to the microsecond PostgreSQL keeps
// (PostgreSQL would round; truncating matches catalog/sqlite).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// optTS is ts with the zero time stored as NULL.
func optTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}
