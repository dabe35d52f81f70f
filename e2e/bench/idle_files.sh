#!/bin/sh
# idle_files.sh [FILES] [SECONDS] [BIN]: memory with many files open and
# idle (issue 23.4). Writes FILES small nginx logs (20 lines each), runs
# BIN (default bin/octoagent) on them with a file sink, and prints the
# agent's RSS (and its anonymous and file-backed parts) and open fds every
# 30 s for SECONDS (default 600).
set -eu
FILES=${1:-1000}
SECS=${2:-600}
BIN=${3:-bin/octoagent}
W=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$W/logs" "$W/data"
line='203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"'
i=0; while [ $i -lt 20 ]; do echo "$line"; i=$((i+1)); done > "$W/one.log"
i=0; while [ $i -lt "$FILES" ]; do cp "$W/one.log" "$W/logs/f$i.log"; i=$((i+1)); done
cat > "$W/agent.hcl" <<HCL
agent {
  data_dir = "$W/data"
}
source "file" "in" {
  paths = ["$W/logs/*.log"]
}
sink "file" "out" {
  inputs = [source.file.in]
  path   = "$W/out.jsonl"
}
HCL
"$BIN" run -c "$W/agent.hcl" --http-addr off --log-level warn &
PID=$!
t=0
while [ $t -lt "$SECS" ]; do
	sleep 30; t=$((t+30))
	rss=$(awk '/^VmRSS|^RssAnon|^RssFile/{printf "%s %d MiB  ", $1, $2/1024}' /proc/$PID/status)
	echo "t=${t}s $rss fds=$(ls /proc/$PID/fd | wc -l) records=$(wc -l < "$W/out.jsonl")"
done
