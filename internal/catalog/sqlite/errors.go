package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// mapErr turns driver errors into the catalog's: no row is ErrNotFound, a
// primary-key or unique violation is ErrConflict (told apart by SQLite's
// extended result code, which the driver enables). The driver error stays in
// the chain, so its message still says which column conflicted.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", catalog.ErrConflict, err)
		}
	}
	return err
}
