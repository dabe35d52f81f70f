package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Preflighter is implemented by configs that depend on this machine: files
// that must exist or be writable, TLS files that must load. Preflight runs
// the checks that Create would fail on at start, and returns AttrErrors
// (joined with errors.Join) so that `octoagent validate`, `octoagent run`
// and a reload refuse such a config with the attribute's file:line:col,
// before anything starts. It must not change anything (no file created).
//
// Validate checks the config itself and runs wherever the config loads
// (a config meant for another machine included); Preflight checks the
// machine the agent is about to run on.
type Preflighter interface {
	Preflight() error
}

// CheckListenAddr checks an address the agent listens on (agent.http_addr,
// agent.admin_addr): HOST:PORT, with a port number or a service name. The
// config loader calls it at load and Runtime.Listen before it binds, so
// that `validate` refuses what `run` would.
func CheckListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if port == "" {
		return fmt.Errorf("address %s: missing port number", addr)
	}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 0 || n > 65535 {
			return fmt.Errorf("address %s: port %d out of range 0-65535", addr, n)
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("address %s: unknown port %q", addr, port)
	}
	return nil
}

// CheckWritableFile checks, without creating anything, that the agent can
// append to the file at path: an existing regular file it may write, or a
// file it may create (its nearest existing parent is a writable directory
// on a real file system, not /proc or /sys).
func CheckWritableFile(path string) error {
	return checkWritable(path, false)
}

// CheckWritableDir is CheckWritableFile for a directory the agent keeps
// files in (agent.data_dir): an existing writable directory, or one it may
// create.
func CheckWritableDir(path string) error {
	return checkWritable(path, true)
}

func checkWritable(path string, dir bool) error {
	if path == "" {
		return errors.New("empty path")
	}
	p := filepath.Clean(path)
	st, err := os.Stat(p)
	switch {
	case err == nil:
		if dir != st.IsDir() {
			if dir {
				return fmt.Errorf("%s is not a directory", p)
			}
			if st.IsDir() {
				return fmt.Errorf("%s is a directory", p)
			}
		}
		if !dir && !st.Mode().IsRegular() && st.Mode()&fs.ModeNamedPipe == 0 && st.Mode()&fs.ModeCharDevice == 0 {
			return fmt.Errorf("%s is not a regular file (%v)", p, st.Mode().Type())
		}
		return writable(p)
	case !errors.Is(err, fs.ErrNotExist):
		return ExplainPermission(err, p, "read")
	}
	// Not there yet: the nearest existing parent must be a directory the
	// agent can create entries in.
	parent := filepath.Dir(p)
	for {
		st, err := os.Stat(parent)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("cannot create %s: %s is not a directory", p, parent)
			}
			if err := writable(parent); err != nil {
				return fmt.Errorf("cannot create %s: %w", p, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return ExplainPermission(err, parent, "read")
		}
		up := filepath.Dir(parent)
		if up == parent {
			return fmt.Errorf("cannot create %s: no parent directory exists", p)
		}
		parent = up
	}
}

// Magic numbers of the virtual file systems nothing can be created on.
const (
	procMagic   = 0x9fa0
	sysfsMagic  = 0x62656572
	cgroupMagic = 0x27e0eb
	cgroup2     = 0x63677270
)

func writable(p string) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(p, &sfs); err == nil {
		switch int64(sfs.Type) {
		case procMagic, sysfsMagic, cgroupMagic, cgroup2:
			return fmt.Errorf("%s is on a virtual file system (/proc, /sys or a cgroup file system), where the agent cannot keep files", p)
		}
	}
	if err := unix.Access(p, unix.W_OK); err != nil {
		if errors.Is(err, unix.EROFS) {
			return fmt.Errorf("%s is on a read-only file system", p)
		}
		return ExplainPermission(&fs.PathError{Op: "write", Path: p, Err: err}, p, "write")
	}
	return nil
}
