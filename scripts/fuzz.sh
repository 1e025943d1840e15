#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Run the libFuzzer targets of tests/fuzz/ for a fixed number of executions
# (or seconds) each, and print, per target, the executions it ran and whether
# it crashed. Builds the fuzz tree (clang, -DVALE_FUZZ=ON) first if needed.
#
#   scripts/fuzz.sh [-n RUNS] [-t SECONDS] [-B BUILD_DIR] [TARGET...]
#
# TARGET is a name without its "fuzz_" prefix (rpc_line, port_name, ring);
# none means all. Without -n: 1000000 executions, or no limit but -t's; with
# both, whichever limit comes first. New inputs go to BUILD_DIR/tests/fuzz/corpus/<target>,
# crashing ones to BUILD_DIR/tests/fuzz/<target>-crash-*. Exits 1 if any
# target crashed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

runs=
secs=0
build=build-fuzz
while getopts "n:t:B:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	t) secs=$OPTARG ;;
	B) build=$OPTARG ;;
	*)
		sed -n '3,13s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$runs" ]; then
	runs=1000000
	((secs == 0)) || runs=-1
fi
targets=("$@")
((${#targets[@]})) || targets=(rpc_line port_name ring)

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALE_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

dir=$build/tests/fuzz
failed=0
for t in "${targets[@]}"; do
	seeds=tests/fuzz/corpus/$t
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	mkdir -p "$dir/corpus/$t"
	log=$dir/fuzz_$t.log
	rc=0
	"$dir/fuzz_$t" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$dir/$t-" "${dict[@]}" "$dir/corpus/$t" "$seeds" \
		>"$log" 2>&1 || rc=$?
	# libFuzzer's final stats: "stat::number_of_executed_units: N".
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ -z "$execs" ]; then # it died before printing them: its last status line
		execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	fi
	if ((rc == 0)); then
		echo "fuzz_$t: ${execs:-0} executions, 0 crashes"
	else
		failed=1
		echo "fuzz_$t: ${execs:-?} executions, 1 crash (exit $rc):" \
			"$(grep -m1 -o 'Test unit written to .*' "$log" || echo "see $log")"
	fi
done
exit $failed
