package tail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/octostore/agent/agent"
)

// Paths the globs match that cannot be followed (a directory, a socket, a
// file the agent may not read, a directory it may not list) are never
// skipped silently: each is logged once per path and state change, counted
// in octoagent_file_skipped_total{reason}, and shown in /healthz
// (agent.Conditions) until it can be followed, so that a permission problem
// on a DaemonSet shows in one place.

// The reasons a path is skipped (the counter's label).
const (
	skipDirectory  = "directory"
	skipNotRegular = "not_regular"
	skipUnreadable = "unreadable"
)

type skipState struct{ reason, msg string }

// skip records that path cannot be followed; it logs and counts only a
// change of state.
func (s *Tailer) skip(path, reason, msg string) {
	st := skipState{reason, msg}
	if old, ok := s.skipped[path]; ok && old == st {
		return
	}
	if s.skipped == nil {
		s.skipped = map[string]skipState{}
	}
	s.skipped[path] = st
	s.skippedTotal.WithLabelValues(reason).Inc()
	s.set.Conditions.Set(path, "skipped: "+msg)
	s.log.Warn("skipping a path the globs match", "path", path, "reason", reason, "error", msg)
}

// unskip records that path can be followed again (or is gone), if it was
// skipped for one of reasons (any with none).
func (s *Tailer) unskip(path string, reasons ...string) {
	old, ok := s.skipped[path]
	if !ok || (len(reasons) > 0 && !contains(reasons, old.reason)) {
		return
	}
	delete(s.skipped, path)
	s.set.Conditions.Clear(path)
	s.log.Info("a path skipped before can be followed now, or is gone", "path", path, "was", old.reason)
}

// checkMatch tells whether a path the globs matched can be followed, and
// records why not. st is its Stat; err the Stat's error.
func (s *Tailer) checkMatch(p string, st os.FileInfo, err error) bool {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.unskip(p)
		return false // gone since the glob
	case err != nil:
		s.skip(p, skipUnreadable, agent.ExplainPermission(err, p, "read").Error())
		return false
	case st.IsDir():
		s.skip(p, skipDirectory, p+" is a directory: only files are followed (a glob such as "+filepath.Join(p, "*.log")+" follows the files in it)")
		return false
	case !st.Mode().IsRegular():
		s.skip(p, skipNotRegular, p+" is not a regular file ("+st.Mode().Type().String()+")")
		return false
	}
	s.unskip(p, skipDirectory, skipNotRegular)
	return true
}

// checkGlobDirs records the directories the globs start from that the agent
// may not list: filepath.Glob finds nothing in them, silently.
func (s *Tailer) checkGlobDirs(seen map[string]bool) {
	for _, g := range s.cfg.Paths {
		dir := filepath.Dir(g)
		for strings.ContainsAny(dir, `*?[\`) {
			dir = filepath.Dir(dir)
		}
		f, err := os.Open(dir)
		if err == nil {
			_, err = f.Readdirnames(1)
			f.Close()
			if err != nil && errors.Is(err, fs.ErrPermission) {
				err = &fs.PathError{Op: "list", Path: dir, Err: fs.ErrPermission}
			} else {
				err = nil
			}
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			seen[dir] = true
			s.skip(dir, skipUnreadable, agent.ExplainPermission(err, dir, "read").Error())
		}
	}
}

// forgetSkipped clears the skipped paths no longer matched (deleted, or
// out of the globs).
func (s *Tailer) forgetSkipped(seen map[string]bool) {
	for p := range s.skipped {
		if !seen[p] {
			s.unskip(p)
		}
	}
}
