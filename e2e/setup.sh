#!/usr/bin/env bash
# e2e/setup.sh (make test-deps): installs or builds every real component the
# tests run, and records what it found. `make test` runs it first; CI runs
# `make test` and nothing else, so a user's machine and CI are set up by
# the same steps.
#
#   Debian packages   apt-get install, when running as root with apt-get
#                     (gcc, nginx, postgresql, mawk, xz-utils and Fluent
#                     Bit's shared libraries)
#   built with Go     kube-apiserver, kube-controller-manager, kubectl and
#                     etcd (e2e/k8s/build.sh), helm, kubeconform, kube-score and
#                     the Kubernetes JSON schemas (e2e/chart/tools.sh), the
#                     OpenTelemetry Collector (e2e/bench/peers/build.sh)
#   unpacked          Fluent Bit, from ../shared/tools/fluent-bit (beside
#                     the clone; a clone without it reports it missing)
#
# Everything built or unpacked is cached in $OCTOAGENT_CACHE (default
# $HOME/.cache/octoagent); a second run finds it there and takes seconds.
# A component that cannot be provided (not root, not Debian, no network, a
# failed build) is reported with the reason, how to install it and the
# tests it leaves out; the script still exits 0 and the tests decide: they
# skip, or fail under CI=true (internal/testenv).
#
# The result is written to $OCTOAGENT_CACHE/components.tsv, one line per
# component (tab-separated): name, status (ready|missing), version, seconds
# spent here, path, note (why missing / how to install), tests that use it.
# `go run ./e2e/testsummary` prints it with the test results.
#
# Options (environment):
#   OCTOAGENT_CACHE        cache directory (default $HOME/.cache/octoagent)
#   OCTOAGENT_SETUP_ONLY   space-separated component names: set up only these
#   OCTOAGENT_SETUP_NO_INSTALL=1  check only, install nothing
#   OCTOAGENT_FLUENT_BIT_XZ  the Fluent Bit archive (default
#                          <repo>/../shared/tools/fluent-bit/fluent-bit.xz)
# Nothing here is committed; never commit the binaries.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export OCTOAGENT_CACHE="${OCTOAGENT_CACHE:-${HOME:-/root}/.cache/octoagent}"
cache="$OCTOAGENT_CACHE"
mkdir -p "$cache"
status_file="$cache/components.tsv"
log="$cache/setup.log"
: >"$log"
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
export GO
export DEBIAN_FRONTEND=noninteractive

K8S_VERSION=v1.37.2
OTELCOL_VERSION=0.160.0
FLUENT_BIT_VERSION=v4.2.8
FLUENT_BIT_XZ="${OCTOAGENT_FLUENT_BIT_XZ:-$root/../shared/tools/fluent-bit/fluent-bit.xz}"
k8s_cache="${OCTOAGENT_K8S_CACHE:-$cache/k8s-$K8S_VERSION}"
tools_cache="${OCTOAGENT_TOOLS:-$cache/tools}"
schemas_cache="${OCTOAGENT_K8S_SCHEMAS:-$cache/k8s-schemas-$K8S_VERSION}"
# A directory named after the hash of its builder config (its component
# list): build.sh --print-dir says which.
otelcol_bin="$("$root/e2e/bench/peers/build.sh" --print-dir)/otelcol-bench"
fluent_bit_bin="$cache/fluent-bit-$FLUENT_BIT_VERSION/fluent-bit"

is_root=false; [ "$(id -u)" = 0 ] && is_root=true
have_apt=false; command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 && have_apt=true
no_install="${OCTOAGENT_SETUP_NO_INSTALL:-}"

# ---------------------------------------------------------------------------
# Helpers

first_line() { head -n 1 | tr -d '\r' | tr '\t' ' '; }
# path_of NAME [dirs...]: the binary on PATH, else in one of the dirs.
path_of() {
	local name=$1; shift
	command -v "$name" 2>/dev/null && return 0
	local d; for d in "$@"; do [ -x "$d/$name" ] && { echo "$d/$name"; return 0; }; done
	return 1
}
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_updated=false
# apt_install PKG...: installs Debian packages (root only); apt-get update
# once per run, only if the first try fails (stale or empty lists).
apt_install() {
	if [ -n "$no_install" ]; then why="OCTOAGENT_SETUP_NO_INSTALL is set"; return 1; fi
	if ! $have_apt; then why="not a Debian/Ubuntu machine (no apt-get)"; return 1; fi
	if ! $is_root; then why="not root, so apt-get cannot install $*"; return 1; fi
	echo "== apt-get install -y $*" >>"$log"
	if apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1; then return 0; fi
	if ! $apt_updated; then
		apt_updated=true
		echo "== apt-get update" >>"$log"
		apt-get update >>"$log" 2>&1 || true
		apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1 && return 0
	fi
	why="apt-get install -y $* failed (see $log)"
	return 1
}

# run_step LABEL CMD...: runs a build step, its output in the log.
run_step() {
	local label=$1; shift
	if [ -n "$no_install" ]; then why="OCTOAGENT_SETUP_NO_INSTALL is set"; return 1; fi
	echo "== $label: $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		why="$label failed (see $log)"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# The components. For each NAME:
#   check_NAME     prints "version<TAB>path" and returns 0 when it is ready
#   install_NAME   installs or builds it (sets $why on failure)
#   how_NAME       how to install it by hand
#   uses_NAME      what needs it
# They run in this order (later builds need earlier ones).

components=(go gcc nginx postgresql etcd kube-apiserver kubectl helm kubeconform kube-score k8s-schemas otelcol mawk fluent-bit chromium)

check_go() { local v; v=$("$GO" env GOVERSION 2>/dev/null) || return 1; printf '%s\t%s\n' "$v" "$GO"; }
install_go() { why="Go is the one prerequisite: install it from go.dev/dl (the go.mod version)"; return 1; }
how_go="install Go (go.mod's version) into /usr/local/go"
uses_go="everything"

check_gcc() {
	local p; p=$(path_of gcc) || return 1
	[ -e /usr/include/stdio.h ] || return 1
	printf '%s\t%s\n' "gcc $(gcc -dumpfullversion 2>/dev/null)" "$p"
}
install_gcc() { apt_install gcc libc6-dev; }
how_gcc="apt-get install -y gcc libc6-dev"
uses_gcc="go test -race, make plugin, TestFluentBitHost*, TestFluentBitPlugin"

check_nginx() {
	local p; p=$(path_of nginx /usr/sbin /usr/local/sbin) || return 1
	printf '%s\t%s\n' "$("$p" -v 2>&1 | first_line | sed 's/^nginx version: //')" "$p"
}
install_nginx() { apt_install nginx; }
how_nginx="apt-get install -y nginx"
uses_nginx="TestNginxAccessLogWithRotation"

check_postgresql() {
	local p
	p=$(command -v initdb 2>/dev/null) || p=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
	[ -n "$p" ] && [ -x "$p" ] || return 1
	# As root, initdb runs as the postgres user, which the package creates.
	if $is_root && ! id postgres >/dev/null 2>&1; then return 1; fi
	printf '%s\t%s\n' "$("$p" --version | first_line | sed 's/^initdb (PostgreSQL) /PostgreSQL /')" "$(dirname "$p")"
}
install_postgresql() { apt_install postgresql; }
how_postgresql="apt-get install -y postgresql"
uses_postgresql="TestStore*, TestFluentBitPlugin (e2e/store starts a throwaway cluster)"

# etcd is built beside the control plane, at the version k8s.io/kubernetes
# $K8S_VERSION requires (Debian's etcd-server is 3.4, older than any
# Kubernetes release of today supports).
check_etcd() {
	[ -x "$k8s_cache/etcd" ] || return 1
	printf '%s\t%s\n' "etcd $("$k8s_cache/etcd" --version 2>/dev/null | first_line | sed 's/^etcd Version: //')" "$k8s_cache/etcd"
}
install_etcd() { run_step "e2e/k8s/build.sh" env OCTOAGENT_K8S_CACHE="$k8s_cache" "$root/e2e/k8s/build.sh"; }
how_etcd="e2e/k8s/build.sh (go build go.etcd.io/etcd/server/v3 at the version k8s.io/kubernetes $K8S_VERSION requires)"
uses_etcd="the Kubernetes tests (TestK8s*, TestChartOnAPIServer, TestChartNodePod)"

check_kube-apiserver() {
	local b
	for b in kube-apiserver kube-controller-manager; do [ -x "$k8s_cache/$b" ] || return 1; done
	printf '%s\t%s\n' "$("$k8s_cache/kube-apiserver" --version 2>/dev/null | first_line) (+ kube-controller-manager)" "$k8s_cache"
}
install_kube-apiserver() { run_step "e2e/k8s/build.sh" env OCTOAGENT_K8S_CACHE="$k8s_cache" "$root/e2e/k8s/build.sh"; }
how_kube_apiserver="e2e/k8s/build.sh (go build from k8s.io/kubernetes $K8S_VERSION, 15 minutes or more on 2 cores)"
uses_kube_apiserver="the Kubernetes tests (TestK8s*, TestChartOnAPIServer, TestChartNodePod)"

check_kubectl() {
	[ -x "$k8s_cache/kubectl" ] || return 1
	printf '%s\t%s\n' "kubectl $("$k8s_cache/kubectl" version --client 2>/dev/null | first_line | sed 's/^Client Version: //')" "$k8s_cache/kubectl"
}
install_kubectl() { run_step "e2e/k8s/build.sh" env OCTOAGENT_K8S_CACHE="$k8s_cache" "$root/e2e/k8s/build.sh"; }
how_kubectl="e2e/k8s/build.sh (go build k8s.io/kubernetes/cmd/kubectl $K8S_VERSION)"
uses_kubectl="TestChartOnAPIServer, TestChartNodePod, TestK8sRBACLeastPrivilege"

chart_tools() { run_step "e2e/chart/tools.sh" env OCTOAGENT_TOOLS="$tools_cache" OCTOAGENT_K8S_SCHEMAS="$schemas_cache" "$root/e2e/chart/tools.sh"; }
check_tool() { # name: installed by tools.sh at the version it pins
	[ -x "$tools_cache/$1" ] && [ -s "$tools_cache/.$1.version" ] || return 1
	printf '%s\t%s\n' "$1 $(cat "$tools_cache/.$1.version")" "$tools_cache/$1"
}
check_helm() { check_tool helm; }
install_helm() { chart_tools; }
how_helm="e2e/chart/tools.sh (go install helm.sh/helm/v3/cmd/helm)"
uses_helm="TestChart* (render, lint, schemas, reload, API server)"
check_kubeconform() { check_tool kubeconform; }
install_kubeconform() { chart_tools; }
how_kubeconform="e2e/chart/tools.sh (go install github.com/yannh/kubeconform/cmd/kubeconform)"
uses_kubeconform="TestChartKubeconform"
check_kube-score() { check_tool kube-score; }
install_kube-score() { chart_tools; }
how_kube_score="e2e/chart/tools.sh (go install github.com/zegl/kube-score/cmd/kube-score)"
uses_kube_score="TestChartKubeScore"
check_k8s-schemas() {
	[ -s "$schemas_cache/deployment-apps-v1.json" ] || return 1
	printf '%s\t%s\n' "$K8S_VERSION ($(ls "$schemas_cache" | wc -l) schemas)" "$schemas_cache"
}
install_k8s-schemas() { chart_tools; }
how_k8s_schemas="e2e/chart/tools.sh (generated from k8s.io/kubernetes's OpenAPI document)"
uses_k8s_schemas="TestChartKubeconform"

check_otelcol() {
	[ -x "$otelcol_bin" ] || return 1
	# No --version: its components list names the receiver's module version.
	local comps; comps=$("$otelcol_bin" components 2>/dev/null) || return 1
	# The OTLP tests need the otlp receiver and exporters.
	grep -q 'otlpreceiver v' <<<"$comps" && grep -q 'otlpexporter v' <<<"$comps" || return 1
	local v; v=$(grep -o 'filelogreceiver v[0-9.]*' <<<"$comps" | first_line) || return 1
	printf '%s\t%s\n' "otelcol-bench ($v)" "$otelcol_bin"
}
install_otelcol() { run_step "e2e/bench/peers/build.sh" env OCTOAGENT_SKIP_MAWK=1 "$root/e2e/bench/peers/build.sh"; }
how_otelcol="e2e/bench/peers/build.sh (the collector builder, $OTELCOL_VERSION, filelog and otlp receivers, file, otlp and otlphttp exporters)"
uses_otelcol="TestComponentsRun/otelcol; TestOTLP* (e2e/otlp_test.go); make bench (the OpenTelemetry Collector peers)"

check_mawk() {
	local p; p=$(path_of mawk) || return 1
	printf '%s\t%s\n' "$("$p" -W version 2>&1 | first_line | awk '{print $1" "$2}')" "$p"
}
install_mawk() { apt_install mawk; }
how_mawk="apt-get install -y mawk"
uses_mawk="TestComponentsRun/mawk; make bench (the awk peer)"

check_fluent-bit() {
	[ -x "$fluent_bit_bin" ] || return 1
	local v; v=$("$fluent_bit_bin" --version 2>&1 | first_line) || return 1
	case "$v" in "Fluent Bit v"*) ;; *) return 1 ;; esac
	printf '%s\t%s\n' "$v" "$fluent_bit_bin"
}
install_fluent-bit() {
	if [ -n "$no_install" ]; then why="OCTOAGENT_SETUP_NO_INSTALL is set"; return 1; fi
	if [ ! -f "$FLUENT_BIT_XZ" ]; then
		why="$FLUENT_BIT_XZ is not there (the shared tools folder sits beside the project's clone; a clone of its own has none): set OCTOAGENT_FLUENT_BIT_XZ to a fluent-bit.xz"
		return 1
	fi
	# Its shared libraries (libyaml, sqlite, OpenSSL) and xz to unpack it.
	local libs=() p
	for p in xz-utils libyaml-0-2 libsqlite3-0 libssl3; do
		if $have_apt && ! pkg_installed "$p"; then libs+=("$p"); fi
	done
	if [ ${#libs[@]} -gt 0 ]; then apt_install "${libs[@]}" || return 1; fi
	if ! command -v xz >/dev/null 2>&1; then why="xz is not installed (apt-get install -y xz-utils)"; return 1; fi
	mkdir -p "$(dirname "$fluent_bit_bin")"
	local tmp="$fluent_bit_bin.tmp.$$"
	if ! xz -dc "$FLUENT_BIT_XZ" >"$tmp" 2>>"$log"; then rm -f "$tmp"; why="xz -dc $FLUENT_BIT_XZ failed"; return 1; fi
	chmod +x "$tmp" && mv "$tmp" "$fluent_bit_bin"
	if ! "$fluent_bit_bin" --version >>"$log" 2>&1; then
		why="$fluent_bit_bin --version fails: $( ("$fluent_bit_bin" --version 2>&1 || true) | first_line) (needs libyaml-0-2 libsqlite3-0 libssl3)"
		return 1
	fi
}
how_fluent_bit="xz -dc ../shared/tools/fluent-bit/fluent-bit.xz into the cache; apt-get install -y libyaml-0-2 libsqlite3-0 libssl3"
uses_fluent_bit="TestFluentBitRealStoreDown (the plugin in a real Fluent Bit), TestComponentsRun/fluent-bit"

# Headless Chromium, driven by github.com/chromedp/chromedp in the
# playground's browser test.
check_chromium() {
	local p; p=$(path_of chromium /usr/bin /usr/lib/chromium) || return 1
	local v; v=$("$p" --version 2>/dev/null | first_line) || return 1
	[ -n "$v" ] || return 1
	printf '%s\t%s\n' "$v" "$p"
}
install_chromium() { apt_install chromium; }
how_chromium="apt-get install -y chromium"
uses_chromium="TestPlaygroundInBrowser (octoagent playground in headless Chromium)"

# how_/uses_ variables cannot hold a '-': kube-score is kube_score.
var() { local v="$1_${2//-/_}"; printf '%s' "${!v:-}"; }

# ---------------------------------------------------------------------------

only=" ${OCTOAGENT_SETUP_ONLY:-${components[*]}} "
exec 9>"$cache/.setup.lock"
flock 9

start_all=$(date +%s.%N)
declare -A line
printf '%-15s %-8s %7s  %s\n' component status seconds version >&2
missing=0
for c in "${components[@]}"; do
	case "$only" in *" $c "*) ;; *) continue ;; esac
	t0=$(date +%s.%N)
	why=""
	if out=$("check_$c"); then
		state=ready
	elif "install_$c" && out=$("check_$c"); then
		state=ready
	else
		state=missing
		[ -n "$why" ] || why="installed, but its check still fails (see $log)"
		out="-	-"
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	version=${out%%$'\t'*}; path=${out#*$'\t'}
	note=""
	if [ $state = missing ]; then
		missing=$((missing + 1))
		note="$why; to install: $(var how "$c")"
	fi
	line[$c]=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$c" "$state" "$version" "$secs" "$path" "$note" "$(var uses "$c")")
	printf '%-15s %-8s %7s  %s\n' "$c" "$state" "${secs}s" "$version" >&2
done
# The status file: this run's lines, and the last run's for the
# components left out by OCTOAGENT_SETUP_ONLY.
tmp_status="$status_file.tmp.$$"
{
	printf '# name\tstatus\tversion\tseconds\tpath\tnote\tused_by\n'
	for c in "${components[@]}"; do
		if [ -n "${line[$c]:-}" ]; then
			printf '%s\n' "${line[$c]}"
		elif [ -f "$status_file" ]; then
			grep -P "^\Q$c\E\t" "$status_file" || true
		fi
	done
} >"$tmp_status"
mv "$tmp_status" "$status_file"
total=$(awk -v a="$start_all" -v b="$(date +%s.%N)" 'BEGIN{printf "%.0f", b-a}')
echo "setup: ${total}s; status in $status_file, log in $log" >&2
if [ $missing -gt 0 ]; then
	echo >&2
	echo "setup: $missing component(s) missing; the tests that need them are skipped (they fail under CI=true):" >&2
	awk -F'\t' '$2=="missing" {printf "  %s: %s\n    leaves out: %s\n", $1, $6, $7}' "$status_file" >&2
fi
exit 0
