#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh NAME: build what NAME needs (release), run it, print its
# figures; the last line is one JSON object.
#   core   the forwarding core on one thread, beside memcpy (bench_core)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build() {
	"$top/scripts/deps.sh"
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DVALE_BUILD_TESTS=OFF >/dev/null
	cmake --build build-bench -j "$(nproc)" --target "$@" >/dev/null
}

case "${1:-}" in
core)
	shift
	build bench_core
	echo "bench core: 2 ports on vale0, one thread, 1024-slot rings ($(nproc) cores, $(uname -r))"
	exec build-bench/bench/bench_core "$@"
	;;
*)
	echo "usage: bench/run.sh core [-t SECONDS_PER_TRIAL] [-r TRIALS]" >&2
	exit 2
	;;
esac
