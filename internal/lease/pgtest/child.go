package pgtest

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment of a child process started by ChildCommand.
const (
	childDBEnv   = "OSPREY_PGTEST_CHILD_DB"
	childNodeEnv = "OSPREY_PGTEST_CHILD_NODE"
)

// ChildCommand returns a command that runs this test binary again, as
// node on the database at db (from Database), running no test: the
// package's TestMain must call RunChild first. env adds KEY=VALUE pairs;
// the child's standard error is the test's. Start it with
// leasetest.StartChild, which kills it when the test ends.
func ChildCommand(db, node string, env ...string) *osexec.Cmd {
	cmd := osexec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDBEnv+"="+db, childNodeEnv+"="+node)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// RunChild belongs first in TestMain. In a process ChildCommand started,
// it opens a pool on the child's database, runs body (which usually
// blocks until the test kills the process) and exits: status 0 when body
// returns nil, else 2 with the error on standard error. In the test
// process itself it returns at once.
func RunChild(body func(ctx context.Context, pool *pgxpool.Pool, node string) error) {
	db := os.Getenv(childDBEnv)
	if db == "" {
		return
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db)
	if err == nil {
		err = body(ctx, pool, os.Getenv(childNodeEnv))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}
