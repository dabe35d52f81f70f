package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Postgres is a throwaway PostgreSQL cluster: initdb in a temporary
// directory, listening only on a unix socket in that directory, with
// durability off (it is thrown away). As root it runs as the postgres OS
// user, because initdb refuses to run as root.
type Postgres struct {
	Dir    string // holds data/, the socket and the server log
	Port   int
	binDir string
	asUser string
}

// FindPostgres returns the directory of the PostgreSQL server binaries
// (initdb, pg_ctl), or an error that says how to install them.
func FindPostgres() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(matches)
	if len(matches) == 0 {
		return "", errors.New("PostgreSQL server binaries not found (no initdb on PATH or in /usr/lib/postgresql/*/bin); install them, e.g. apt-get install -y postgresql")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// StartPostgres creates and starts a cluster. Stop it with Stop.
func StartPostgres() (*Postgres, error) {
	bin, err := FindPostgres()
	if err != nil {
		return nil, err
	}
	// Short path: a unix socket path must stay under ~100 bytes.
	dir, err := os.MkdirTemp("/tmp", "octopg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, binDir: bin, Port: 5432}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and initdb refuses root: need the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		p.asUser = "postgres"
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := p.run(60*time.Second, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50", p.Port, dir)
	if out, err := p.run(120*time.Second, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "110", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return p, nil
}

func (p *Postgres) run(timeout time.Duration, tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	path := filepath.Join(p.binDir, tool)
	var cmd *exec.Cmd
	if p.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// DSN returns the connection string (over the unix socket).
func (p *Postgres) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", p.Dir, p.Port)
}

// Stop stops the cluster and removes its directory.
func (p *Postgres) Stop() error {
	out, err := p.run(60*time.Second, "pg_ctl", "-D", filepath.Join(p.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(p.Dir)
	if err != nil && !strings.Contains(string(out), "not running") {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}
