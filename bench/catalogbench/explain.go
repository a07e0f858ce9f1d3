package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/postgres"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
)

// planQuery is one measured request as the store's SQL: the WHERE terms
// ListAssets builds for it (catalog/sqlite and catalog/postgres
// assetlist.go; copied here, so keep them in step) and the page size.
type planQuery struct {
	name  string
	where []string
	args  []any
	limit int
}

// planQueries are the measured requests' queries for one dialect.
// Placeholders are "?" and are numbered for PostgreSQL by explain.
func planQueries(idx *catalogIndex, pos int, pg bool) []planQuery {
	last := idx.all[pos-1]
	var created any = last.created.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	cursor := "(created_at, id) < (?, ?)"
	if pg {
		created, cursor = last.created, "(created_at, id) < (?::timestamptz, ?)"
	}
	q := []planQuery{
		{name: "first page", limit: 50},
		{name: "deep page", where: []string{cursor}, args: []any{created, last.id}, limit: 50},
		{name: "status=failed", where: []string{"status = ?"}, args: []any{"failed"}, limit: 50},
		{name: "limit=500", limit: 500},
	}
	if len(idx.uploads) > 0 {
		q = append(q, planQuery{name: "upload_id=…", where: []string{"upload_id = ?"}, args: []any{idx.uploads[len(idx.uploads)/2]}, limit: 50})
	}
	return q
}

func (p planQuery) sql(pg bool) string {
	s := "SELECT * FROM assets"
	if len(p.where) > 0 {
		s += " WHERE " + strings.Join(p.where, " AND ")
	}
	s += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", p.limit+1)
	if pg {
		n := 0
		for strings.Contains(s, "?") {
			n++
			s = strings.Replace(s, "?", fmt.Sprintf("$%d", n), 1)
		}
	}
	return s
}

// explain returns the backend's plan of each measured query: SQLite's
// EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (ANALYZE, BUFFERS).
func explain(ctx context.Context, s catalog.Store, idx *catalogIndex, pos int) (string, error) {
	var b strings.Builder
	switch st := s.(type) {
	case *sqlite.Store:
		for _, q := range planQueries(idx, pos, false) {
			fmt.Fprintf(&b, "-- %s\nEXPLAIN QUERY PLAN %s\n", q.name, q.sql(false))
			rows, err := st.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql(false), q.args...)
			if err != nil {
				return "", fmt.Errorf("explaining %s: %w", q.name, err)
			}
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					rows.Close()
					return "", err
				}
				fmt.Fprintf(&b, "%s\n", detail)
			}
			if err := rows.Close(); err != nil {
				return "", err
			}
			t := time.Now()
			rows, err = st.DB().QueryContext(ctx, q.sql(false), q.args...)
			if err != nil {
				return "", err
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Close(); err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "(%d rows in %s)\n\n", n, time.Since(t).Round(time.Microsecond))
		}
	case *postgres.Store:
		for _, q := range planQueries(idx, pos, true) {
			fmt.Fprintf(&b, "-- %s\nEXPLAIN (ANALYZE, BUFFERS) %s\n", q.name, q.sql(true))
			rows, err := st.Pool().Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql(true), q.args...)
			if err != nil {
				return "", fmt.Errorf("explaining %s: %w", q.name, err)
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					rows.Close()
					return "", err
				}
				fmt.Fprintf(&b, "%s\n", line)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return "", err
			}
			b.WriteString("\n")
		}
	default:
		return "", errUnknownStore
	}
	return b.String(), nil
}

// describe returns the backend's server version and the catalog's size
// on disk, as text.
func describe(ctx context.Context, s catalog.Store) (version, size string, err error) {
	switch st := s.(type) {
	case *sqlite.Store:
		var n int64
		if err := st.DB().QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
			return "", "", err
		}
		if err := st.DB().QueryRowContext(ctx, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&n); err != nil {
			return "", "", err
		}
		return "SQLite " + version, fmt.Sprintf("database %.1f MiB", float64(n)/(1<<20)), nil
	case *postgres.Store:
		var n int64
		if err := st.Pool().QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
			return "", "", err
		}
		if err := st.Pool().QueryRow(ctx, "SELECT pg_total_relation_size('assets')").Scan(&n); err != nil {
			return "", "", err
		}
		return "PostgreSQL " + version, fmt.Sprintf("assets table and indexes %.1f MiB", float64(n)/(1<<20)), nil
	}
	return "", "", errUnknownStore
}
