#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/compare.sh REV NAME [ROUNDS]: run bench/run.sh NAME on the binaries of
# git revision REV and on this tree's, interleaved (ROUNDS rounds, default 3,
# the order alternating each round), and print the median of each figure for
# both and the change in percent. The last line is one JSON object.
# REV is checked out into a temporary worktree and built there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

[ $# -ge 2 ] || { echo "usage: bench/compare.sh REV NAME [ROUNDS]" >&2; exit 2; }
rev=$(git rev-parse --verify "$1^{commit}")
name=$2
rounds=${3:-3}
base=$(mktemp -d /tmp/vale-base-XXXXXX)
out=$(mktemp -d /tmp/vale-compare-XXXXXX)
trap 'git worktree remove --force "$base" >/dev/null 2>&1 || rm -rf "$base"; rm -rf "$out"' EXIT
git worktree add -q --detach "$base" "$rev"

echo "bench compare $name: base ${rev:0:12} against this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')), $rounds rounds, interleaved"
for r in $(seq "$rounds"); do
	order=(base new)
	[ $((r % 2)) -eq 0 ] && order=(new base)
	for which in "${order[@]}"; do
		dir=$top
		[ "$which" = base ] && dir=$base
		echo "== round $r: $which"
		(cd "$dir" && bench/run.sh "$name") | tee "$out/$which.$r.log" | tail -n 3
		tail -n 1 "$out/$which.$r.log" >>"$out/$which.jsonl"
	done
done

python3 - "$out/base.jsonl" "$out/new.jsonl" "${rev:0:12}" "$name" <<'EOF'
import json, statistics, sys
base = [json.loads(l) for l in open(sys.argv[1])]
new = [json.loads(l) for l in open(sys.argv[2])]
res = {"bench": "compare", "name": sys.argv[4], "base": sys.argv[3], "rounds": len(new)}
for key in new[0]:
    vals_b = [r[key] for r in base if isinstance(r.get(key), (int, float))]
    vals_n = [r[key] for r in new if isinstance(r.get(key), (int, float))]
    if not vals_b or not vals_n:
        continue
    b, n = statistics.median(vals_b), statistics.median(vals_n)
    pct = round(100 * (n - b) / b, 1) if b else None
    print(f"{key}: base {b} (trials {vals_b}), new {n} (trials {vals_n}), change {pct} %")
    res[key] = {"base": b, "new": n, "change_pct": pct}
print(json.dumps(res))
EOF
