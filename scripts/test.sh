#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The whole test suite: install what is missing, then build and run every
# test twice, in the release build and under ASan+UBSan; then a short run of
# each libFuzzer target (clang), and the threaded in-process tests and valed's
# functional tests under ThreadSanitizer.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/deps.sh
jobs=$(nproc)

run_suite() { # build-dir cmake-args... [-- ctest-args...]
	local dir=$1 cm=()
	shift
	while (($#)) && [ "$1" != -- ]; do
		cm+=("$1")
		shift
	done
	(($#)) && shift
	cmake -S . -B "$dir" "${cm[@]}" >/dev/null
	cmake --build "$dir" -j "$jobs"
	(cd "$dir" && ctest --output-on-failure -j "$jobs" "$@")
}

echo "== release build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ASan + UBSan build"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DVALE_SANITIZE=ON
echo "== libFuzzer targets, short runs (scripts/fuzz.sh runs them longer)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_rpc_line fuzz_port_name fuzz_ring
(cd build-fuzz && ctest --output-on-failure -j "$jobs" -L fuzz)
echo "== ThreadSanitizer build"
# A race report fails a unit test (label tsan), or makes valed exit with 66,
# which a functional test sees when it stops valed.
run_suite build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALE_TSAN=ON -- -L tsan
(cd build-tsan && TSAN_OPTIONS=second_deadlock_stack=1 \
	ctest --output-on-failure -R '^test_valed_(control|ports|monitor|pipes|authz|limits)$')
echo "all tests passed"
