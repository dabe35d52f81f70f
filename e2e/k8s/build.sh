#!/usr/bin/env bash
# Builds the real kube-apiserver and kube-controller-manager the e2e tests
# run against, and the kubectl they drive them with, from the
# k8s.io/kubernetes Go module at a pinned version, and the etcd they store
# into from go.etcd.io/etcd/server/v3 at the version that k8s.io/kubernetes
# release requires, in the helper module ./apiserver (its own go.mod,
# outside the agent's build graph). The binaries are cached outside the
# repository and reused:
#
#   $OCTOAGENT_K8S_CACHE (default $OCTOAGENT_CACHE/k8s-$K8S_VERSION, and
#   $OCTOAGENT_CACHE defaults to $HOME/.cache/octoagent)
#
# Prints the cache directory on stdout when the binaries are there. Safe to
# run concurrently: a lock file serialises builds. Never commit the binaries.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
pinned=v1.37.2 # ./apiserver/go.mod pins k8s.io/kubernetes at this version
here="$(cd "$(dirname "$0")" && pwd)"
cache="${OCTOAGENT_K8S_CACHE:-${OCTOAGENT_CACHE:-${HOME:-/root}/.cache/octoagent}/k8s-$K8S_VERSION}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
bins=(kube-apiserver kube-controller-manager kubectl etcd)

have_all() {
	for b in "${bins[@]}"; do [ -x "$cache/$b" ] || return 1; done
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if have_all; then
	echo "$cache"
	exit 0
fi

if [ "$K8S_VERSION" != "$pinned" ]; then
	echo "build.sh: ./apiserver/go.mod pins $pinned; edit it for $K8S_VERSION" >&2
	exit 2
fi

start=$(date +%s)
cd "$here/apiserver"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
# The module's own go.sum is committed; `go mod download` fills the module
# cache the first time (from the Go module proxy).
"$GO" mod download
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
built=()
minor="${K8S_VERSION#v1.}"
minor="${minor%%.*}"
for b in "${bins[@]}"; do
	[ -x "$cache/$b" ] && continue # a cache from before a binary was added
	built+=("$b")
	pkg="k8s.io/kubernetes/cmd/$b"
	ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
	if [ "$b" = etcd ]; then
		# etcd's server main package; its version comes from the module.
		pkg="go.etcd.io/etcd/server/v3"
		ldflags="-s -w"
	fi
	echo "build.sh: building $b ($pkg)" >&2
	nice -n 10 "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/$b" "$pkg"
done
for b in "${built[@]}"; do mv "$tmp/$b" "$cache/$b"; done
echo "build.sh: built in $(( $(date +%s) - start ))s into $cache" >&2
echo "$cache"
