#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Quick start: install what is missing, build, start valed, and push traffic
# through vale0: vale-pktgen sends 60-byte frames on vale0:a, another
# vale-pktgen receives them on vale0:b, for SECONDS (default 5).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${1:-5}

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target valed valectl vale-pktgen >/dev/null

dir=$(mktemp -d /tmp/vale-quickstart-XXXXXX)
export VALE_SOCKET=$dir/valed.sock
build/ctl/valed -s "$VALE_SOCKET" 2>"$dir/valed.log" &
valed=$!
trap 'kill $valed 2>/dev/null; wait $valed 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -S "$VALE_SOCKET" ] && break; sleep 0.1; done

echo "valed is serving $VALE_SOCKET; sending through vale0 for ${seconds}s"
build/tools/vale-pktgen -i vale0:b -f rx --duration "$seconds" --json >"$dir/rx.json" 2>/dev/null &
rx=$!
sleep 0.3
build/tools/vale-pktgen -i vale0:a -f tx -l 60 --duration $((seconds + 2)) >/dev/null 2>&1 &
tx=$!
sleep 1
build/ctl/valectl list
build/ctl/valectl stats
wait $rx
kill -INT $tx 2>/dev/null; wait $tx 2>/dev/null || true
echo "received at vale0:b: $(tail -n 1 "$dir/rx.json")"
