package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server of one test: its own data folder, port and
// listen address, so the test may stop, restart or cut it off without
// touching the machine's server. It needs Debian's PostgreSQL binaries
// (/usr/lib/postgresql/N/bin) and, when run as root, the postgres system
// user (PostgreSQL refuses to run as root).
type Server struct {
	t    testing.TB
	bin  string // folder of initdb, pg_ctl
	dir  string // data folder (and socket folder)
	host string
	port int
	asPG bool // run the binaries as the postgres user
}

// StartServer initialises a cluster with trust authentication for
// loopback and for trustCIDR (e.g. "10.231.0.0/16"; empty: loopback only),
// starts it listening on host, and stops it when the test ends.
func StartServer(t testing.TB, host, trustCIDR string) *Server {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "osprey-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, dir: dir, host: host}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		s.asPG = true
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root, the private PostgreSQL server needs the postgres system user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "--auth=trust", "--username=postgres", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
	if trustCIDR != "" {
		hba += "host all all " + trustCIDR + " trust\n"
	}
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.asPG {
		if out, err := osexec.Command("chown", "postgres:postgres", filepath.Join(data, "pg_hba.conf")).CombinedOutput(); err != nil {
			t.Fatalf("pgtest: chown pg_hba.conf: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("pgtest: no free port on %s: %v", host, err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Start()
	t.Cleanup(func() { _, _ = s.run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
	return s
}

// URL is the server's postgres database as the postgres user.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", s.Addr())
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Start starts the (stopped) server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=%s -c port=%d -c unix_socket_directories=%s -c fsync=off -c max_connections=200",
		s.host, s.port, s.dir)
	out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", opts,
		"-l", filepath.Join(s.dir, "log"), "-w", "-t", "30", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("pgtest: starting PostgreSQL on %s: %v\n%s\n%s", s.Addr(), err, out, log)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL())
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("pgtest: PostgreSQL on %s does not accept connections: %v", s.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server in fast mode: it ends every session (clients see
// their connections closed) and shuts down cleanly, as a restart does.
func (s *Server) Stop() {
	s.t.Helper()
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "-t", "30", "stop"); err != nil {
		s.t.Fatalf("pgtest: stopping PostgreSQL on %s: %v\n%s", s.Addr(), err, out)
	}
}

// run runs one of the server binaries (as the postgres user when root).
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *osexec.Cmd
	if s.asPG {
		cmd = osexec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = osexec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// serverBinaries finds the newest /usr/lib/postgresql/N/bin with pg_ctl.
func serverBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: a private PostgreSQL server needs initdb and pg_ctl under /usr/lib/postgresql/N/bin (apt-get install postgresql)")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}
