// Package podrun runs a process the way a container runtime (containerd with
// runc, as the kubelet drives it) runs a pod's container, on this machine,
// so that a test can prove what a rendered pod spec can and cannot do:
//
//   - in a mount namespace of its own, chrooted into a root directory the
//     caller prepared, with the pod's volumes bind-mounted at their mount
//     paths, read-only where the spec says so, /proc mounted, and the root
//     itself read-only for readOnlyRootFilesystem;
//   - with the securityContext's uid, gid and supplementary groups;
//   - with exactly the capabilities the runtime would give: the bounding,
//     permitted and effective sets hold the given ones (the runtime's
//     default set, minus drop, plus add), the inheritable and ambient sets
//     none (Kubernetes sets no ambient capabilities, so for a non-root uid
//     they all vanish at exec, as in a real pod);
//   - with no_new_privs for allowPrivilegeEscalation: false, and umask 022.
//
// The network namespace is the host's, and no seccomp filter is applied.
//
// It works the way runc's init does: the test binary starts itself again
// (Command) in a new mount namespace, and Init, called first in TestMain,
// sets everything up on one locked OS thread and execs the program. It
// needs root, as CI runs the tests.
package podrun

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// Mount is one volume mount: Source on this machine at Target in the
// container.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// Spec is what the container runtime gets for one container.
type Spec struct {
	Rootfs       string // the root directory; mount points are created in it
	ReadOnlyRoot bool
	Mounts       []Mount
	UID, GID     int
	Groups       []int
	Caps         []string // Kubernetes names: "DAC_READ_SEARCH" (or "CAP_DAC_READ_SEARCH")
	NoNewPrivs   bool
	Path         string   // the program, inside Rootfs
	Args         []string // argv, without argv[0]
	Env          []string
	Dir          string // working directory inside Rootfs; "/" if empty
}

const specEnv = "OCTOAGENT_PODRUN_SPEC"

// RuntimeDefaultCaps are the capabilities containerd (and CRI-O) give a
// container that drops none: what `capabilities.drop` takes from and
// `capabilities.add` adds to.
var RuntimeDefaultCaps = []string{"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

// Check says why this process cannot run a spec, or nil: it must be root
// with the capabilities a container runtime uses (to mount, chroot, set
// credentials and capability sets).
func Check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("podrun needs root (to mount, chroot and set credentials); this process runs as uid %d", os.Geteuid())
	}
	c, err := capability.NewPid2(0)
	if err == nil {
		err = c.Load()
	}
	if err != nil {
		return err
	}
	for _, need := range []capability.Cap{capability.CAP_SYS_ADMIN, capability.CAP_SYS_CHROOT, capability.CAP_SETPCAP, capability.CAP_SETUID, capability.CAP_SETGID} {
		if !c.Get(capability.EFFECTIVE, need) {
			return fmt.Errorf("podrun needs %s, which this process does not have (a container without it cannot run the pod test)", strings.ToUpper(need.String()))
		}
	}
	return nil
}

// Command returns the command that runs spec: this binary again, in a new
// mount namespace, where Init takes over. Set its Stdout and Stderr and
// start it; its process becomes the program's (exec keeps the pid).
func Command(spec Spec) (*exec.Cmd, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if _, err := ParseCaps(spec.Caps); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = []string{specEnv + "=" + string(b)}
	// Go makes the new namespace's mounts private (MS_REC|MS_PRIVATE on /)
	// in the child, so nothing mounted there shows on the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd, nil
}

// Init runs the spec of a process started by Command, and never returns
// there. In any other process it returns at once. Call it first in TestMain.
func Init() {
	v := os.Getenv(specEnv)
	if v == "" {
		return
	}
	// Credentials, capabilities and no_new_privs are per thread in Linux;
	// exec takes the calling thread's. So everything happens on this one.
	runtime.LockOSThread()
	var spec Spec
	err := json.Unmarshal([]byte(v), &spec)
	if err == nil {
		err = run(spec)
	}
	fmt.Fprintf(os.Stderr, "podrun: %v\n", err)
	os.Exit(127)
}

// ParseCaps turns capability names into capabilities.
func ParseCaps(names []string) ([]capability.Cap, error) {
	known := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		known[strings.ToUpper(c.String())] = c
	}
	var out []capability.Cap
	for _, n := range names {
		c, ok := known[strings.TrimPrefix(strings.ToUpper(n), "CAP_")]
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}

func run(spec Spec) error {
	caps, err := ParseCaps(spec.Caps)
	if err != nil {
		return err
	}
	if err := mountAll(spec); err != nil {
		return err
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chroot(spec.Rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", spec.Rootfs, err)
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	unix.Umask(0o022)

	// runc's order: the bounding set first (dropping from it needs
	// CAP_SETPCAP, which this process still has), then the user with
	// PR_SET_KEEPCAPS so that the permitted set survives a change to a
	// non-root uid, then the capability sets, then the ambient set (empty).
	c, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	c.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	c.Set(capability.BOUNDING|capability.PERMITTED|capability.EFFECTIVE, caps...)
	if err := c.Apply(capability.BOUNDS); err != nil {
		return fmt.Errorf("bounding set: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_KEEPCAPS: %w", err)
	}
	if err := unix.Setgroups(spec.Groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", spec.Groups, err)
	}
	if err := unix.Setresgid(spec.GID, spec.GID, spec.GID); err != nil {
		return fmt.Errorf("setresgid %d: %w", spec.GID, err)
	}
	if err := unix.Setresuid(spec.UID, spec.UID, spec.UID); err != nil {
		return fmt.Errorf("setresuid %d: %w", spec.UID, err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_KEEPCAPS: %w", err)
	}
	if err := c.Apply(capability.CAPS | capability.AMBS); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if spec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
		}
	}
	argv := append([]string{spec.Path}, spec.Args...)
	return fmt.Errorf("exec %s: %w", spec.Path, unix.Exec(spec.Path, argv, spec.Env))
}

// mountAll makes the container's filesystem under spec.Rootfs, in this
// process's own mount namespace.
func mountAll(spec Spec) error {
	root := spec.Rootfs
	// The root is a mount of its own, so that it can be made read-only.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", root, err)
	}
	for _, m := range spec.Mounts {
		target := filepath.Join(root, m.Target)
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("volume %s: %w", m.Target, err)
		}
		if st.IsDir() {
			err = os.MkdirAll(target, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
				f.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("mount point %s: %w", target, err)
		}
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			if err := remountReadOnly(target); err != nil {
				return fmt.Errorf("%s read-only: %w", m.Target, err)
			}
		}
	}
	procDir := filepath.Join(root, "proc")
	if err := os.MkdirAll(procDir, 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", procDir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	devNull := filepath.Join(root, "dev", "null")
	if err := os.MkdirAll(filepath.Dir(devNull), 0o755); err != nil {
		return err
	}
	if f, err := os.OpenFile(devNull, os.O_CREATE|os.O_RDONLY, 0o666); err == nil {
		f.Close()
	}
	if err := unix.Mount("/dev/null", devNull, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /dev/null: %w", err)
	}
	if spec.ReadOnlyRoot {
		if err := remountReadOnly(root); err != nil {
			return fmt.Errorf("read-only root: %w", err)
		}
	}
	return nil
}

// remountReadOnly makes a bind mount read-only, keeping the flags the
// kernel locks on it (nosuid, nodev, noexec).
func remountReadOnly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for _, f := range []uintptr{unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC} {
		if uintptr(st.Flags)&f != 0 {
			flags |= f
		}
	}
	return unix.Mount("", path, "", flags, "")
}
