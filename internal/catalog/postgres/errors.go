package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// SQLSTATE codes (PostgreSQL Appendix A).
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// mapErr turns driver errors into the catalog's: no row is ErrNotFound, a
// primary-key or unique violation (SQLSTATE 23505) is ErrConflict. The
// driver error stays in the chain, so its message still names the
// constraint.
func mapErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.ErrNotFound
	}
	if isErrCode(err, uniqueViolation) {
		return fmt.Errorf("%w: %w", catalog.ErrConflict, err)
	}
	return err
}
