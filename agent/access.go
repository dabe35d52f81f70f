package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/moby/sys/capability"
)

// ExplainPermission adds to a permission error on path what an operator
// needs to fix it: who the agent runs as (uid, gid, groups, effective
// capabilities) and who owns path, or its nearest existing parent, with
// what mode. Any other error is returned as it is.
//
//	mkdir /var/lib/octoagent/checkpoints: permission denied: the agent runs as uid 65532 (gid 65532, groups [65532]) with no capabilities; /var/lib/octoagent is owned by uid 0 (gid 0) with mode drwxr-xr-x: run the agent as uid 0, the owner, or give it write access
func ExplainPermission(err error, path string, access string) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	who := Identity()
	p := filepath.Clean(path)
	for {
		st, serr := os.Stat(p)
		if serr == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				return fmt.Errorf("%w: the agent runs as %s; %s is owned by uid %d (gid %d) with mode %v: run the agent as uid %d, the owner, or give it %s access",
					err, who, p, sys.Uid, sys.Gid, st.Mode(), sys.Uid, access)
			}
			break
		}
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	return fmt.Errorf("%w: the agent runs as %s", err, who)
}

// Identity describes the process's credentials: uid, gid, supplementary
// groups and effective capabilities.
func Identity() string {
	groups, _ := os.Getgroups()
	caps := "no capabilities"
	if c, err := capability.NewPid2(0); err == nil && c.Load() == nil {
		if s := c.StringCap(capability.EFFECTIVE); s != "" {
			caps = "the capabilities " + s
		}
	}
	return fmt.Sprintf("uid %d (gid %d, groups %v) with %s", os.Getuid(), os.Getgid(), groups, caps)
}
