#!/usr/bin/env bash
# Installs the chart checks' tools with `go install` at pinned versions
# (through the Go module proxy), and generates the strict JSON schemas
# kubeconform validates against, offline, from the k8s.io/kubernetes
# module's api/openapi-spec/swagger.json (the version e2e/k8s runs).
# Everything is cached outside the repository:
#
#   $OCTOAGENT_TOOLS       (default $OCTOAGENT_CACHE/tools)   helm kubeconform kube-score
#   $OCTOAGENT_K8S_SCHEMAS (default $OCTOAGENT_CACHE/k8s-schemas-v1.37.2)
#
# ($OCTOAGENT_CACHE defaults to $HOME/.cache/octoagent.)
#
# A tool that cannot be installed is reported and left out; the chart tests
# skip the checks that need it, with the reason. Safe to run concurrently.
set -uo pipefail

HELM_VERSION=v3.16.4
KUBECONFORM_VERSION=v0.6.7
KUBE_SCORE_VERSION=v1.20.0
K8S_VERSION=v1.37.2

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
cache="${OCTOAGENT_CACHE:-${HOME:-/root}/.cache/octoagent}"
tools="${OCTOAGENT_TOOLS:-$cache/tools}"
schemas="${OCTOAGENT_K8S_SCHEMAS:-$cache/k8s-schemas-$K8S_VERSION}"
mkdir -p "$tools"
exec 9>"$tools/.lock"
flock 9

install() { # name version package [ldflags [note]]
	local name=$1 version=$2 pkg=$3 ldflags=${4:-} note=${5:-}
	# The stamp holds the version and what the ldflags set (note), so a
	# change of either reinstalls.
	local stamp="$version${note:+ ($note)}"
	if [ -x "$tools/$name" ] && [ "$(cat "$tools/.$name.version" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	echo "tools.sh: go install $pkg@$version" >&2
	if GOBIN="$tools" GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 nice -n 10 "$GO" install -trimpath ${ldflags:+-ldflags "$ldflags"} "$pkg@$version" >&2; then
		echo "$stamp" >"$tools/.$name.version"
	else
		echo "tools.sh: could not install $name $version; the checks needing it will be skipped" >&2
	fi
}

k8s_minor="${K8S_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
# helm: the default --kube-version (Capabilities) is set to the version the
# e2e control plane runs; the tests pass --kube-version too.
install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
	"-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor" \
	"default kube-version 1.$k8s_minor"
install kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform
install kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score

if [ ! -s "$schemas/deployment-apps-v1.json" ]; then
	spec=""
	modcache="$("$GO" env GOMODCACHE)"
	spec="$modcache/k8s.io/kubernetes@$K8S_VERSION/api/openapi-spec/swagger.json"
	if [ ! -f "$spec" ]; then
		# The module is downloaded by e2e/k8s/build.sh; fetch it alone if not.
		(cd "$root/e2e/k8s/apiserver" && GOFLAGS=-mod=mod GOWORK=off "$GO" mod download "k8s.io/kubernetes@$K8S_VERSION") >&2 || true
	fi
	if [ -f "$spec" ]; then
		tmp="$(mktemp -d "$(dirname "$schemas")/.schemas.XXXXXX")"
		if (cd "$root" && "$GO" run ./e2e/chart/schemagen -spec "$spec" -out "$tmp"); then
			rm -rf "$schemas" && mv "$tmp" "$schemas"
		else
			rm -rf "$tmp"
			echo "tools.sh: schema generation failed; kubeconform will be skipped" >&2
		fi
	else
		echo "tools.sh: $spec is not in the module cache; kubeconform will be skipped" >&2
	fi
fi
echo "$tools"
