#!/usr/bin/env bash
# Builds the real kube-apiserver and kube-controller-manager the e2e tests
# run against, and the kubectl they drive them with, from the
# k8s.io/kubernetes Go module at a pinned version, in the helper module
# ./apiserver (its own go.mod, outside the agent's build graph). The
# binaries are cached outside the repository and reused:
#
#   $OCTOAGENT_K8S_CACHE (default $OCTOAGENT_CACHE/k8s-$K8S_VERSION, and
#   $OCTOAGENT_CACHE defaults to $HOME/.cache/octoagent)
#
# Prints the cache directory on stdout when the binaries are there. Safe to
# run concurrently: a lock file serialises builds. Never commit the binaries.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.31.4}"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${OCTOAGENT_K8S_CACHE:-${OCTOAGENT_CACHE:-${HOME:-/root}/.cache/octoagent}/k8s-$K8S_VERSION}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
bins=(kube-apiserver kube-controller-manager kubectl)

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

if [ "$K8S_VERSION" != "v1.31.4" ]; then
	echo "build.sh: ./apiserver/go.mod pins v1.31.4; edit it for $K8S_VERSION" >&2
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
for b in "${bins[@]}"; do
	[ -x "$cache/$b" ] && continue # a cache from before kubectl was added
	built+=("$b")
	echo "build.sh: building $b $K8S_VERSION" >&2
	nice -n 10 "$GO" build -trimpath \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=31" \
		-o "$tmp/$b" "k8s.io/kubernetes/cmd/$b"
done
for b in "${built[@]}"; do mv "$tmp/$b" "$cache/$b"; done
echo "build.sh: built in $(( $(date +%s) - start ))s into $cache" >&2
echo "$cache"
