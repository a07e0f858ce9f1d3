package postgres

import (
	"errors"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// redactedError is err with every occurrence of a secret removed from its
// message; errors.Is and errors.As still see err.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with the password of connString removed from its
// message. pgx already redacts the URL it quotes in parse errors, but only
// as a best effort; this makes sure, for the forms a password can take.
func redact(err error, connString string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, pw := range passwords(connString) {
		if pw != "" && strings.Contains(msg, pw) {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// passwords returns the password as written in connString (and decoded, for
// a URL), however pgx or url would parse it.
func passwords(connString string) []string {
	var out []string
	if u, err := url.Parse(connString); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw, url.UserPassword("", pw).String()[1:])
		}
	}
	if cfg, err := pgconn.ParseConfig(connString); err == nil && cfg.Password != "" {
		out = append(out, cfg.Password)
	}
	// A URL url.Parse refuses: take what sits between "user:" and "@".
	if rest, ok := strings.CutPrefix(connString, "postgres://"); ok || strings.HasPrefix(connString, "postgresql://") {
		if !ok {
			rest = strings.TrimPrefix(connString, "postgresql://")
		}
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if _, pw, found := strings.Cut(rest[:at], ":"); found {
				out = append(out, pw)
			}
		}
	}
	return out
}

// isErrCode reports whether err is a PostgreSQL error with the given
// SQLSTATE.
func isErrCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
