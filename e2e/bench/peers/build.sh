#!/usr/bin/env bash
# Builds and caches the benchmark peers: mawk (Debian) and the
# OpenTelemetry Collector (filelog and otlp receivers; file, otlp and
# otlphttp exporters), built with the collector builder from the Go module
# proxy. Nothing is committed.
#
# The Collector goes to $cache/otelcol-0.160.0-HASH, HASH being the first 8
# hex digits of the SHA-256 of otelcol-builder.yaml: a change to its
# component list builds a new binary beside the old one (which tests of
# other checkouts may still be running) instead of over it.
# `build.sh --print-dir` prints that directory and builds nothing.
set -euo pipefail
cd "$(dirname "$0")/../../.."
cache="${OCTOAGENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/octoagent}"
hash=$(sha256sum e2e/bench/peers/otelcol-builder.yaml | cut -c1-8)
out="$cache/otelcol-0.160.0-$hash"
if [ "${1:-}" = "--print-dir" ]; then
  echo "$out"
  exit 0
fi
# e2e/setup.sh sets OCTOAGENT_SKIP_MAWK: it installs mawk as a component of
# its own, and the Collector must build even where apt-get cannot run.
if [ -z "${OCTOAGENT_SKIP_MAWK:-}" ] && ! command -v mawk >/dev/null; then
  (apt-get install -y mawk || (apt-get update && apt-get install -y mawk)) >/dev/null
fi
if [ -x "$out/otelcol-bench" ]; then
  echo "otelcol-bench is cached at $out"
  exit 0
fi
mkdir -p "$cache/bin" "$out"
GOBIN="$cache/bin" go install go.opentelemetry.io/collector/cmd/builder@v0.160.0
sed "s#\${OTELCOL_OUT}#$out#" e2e/bench/peers/otelcol-builder.yaml > "$out/builder.yaml"
# The builder's own `go mod tidy` also resolves the components' test
# imports, and one of those versions is not served by the module proxy
# here: let it write the sources and go.mod (its tidy then fails; with
# --skip-get-modules it would write no go.mod at all), then tidy with -e
# and build. The binary is built under a temporary name and renamed, so a
# cached binary is always a whole one.
rm -f "$out/go.mod"
"$cache/bin/builder" --config "$out/builder.yaml" --skip-compilation ||
  echo "the builder's go mod tidy failed; tidying with -e" >&2
[ -s "$out/go.mod" ] || { echo "the collector builder wrote no $out/go.mod" >&2; exit 1; }
(cd "$out" && go mod tidy -e && CGO_ENABLED=0 go build -trimpath -o otelcol-bench.tmp . && mv otelcol-bench.tmp otelcol-bench)
echo "built $out/otelcol-bench"
