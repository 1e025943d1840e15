#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Quick start: install what is missing, build, and push traffic through vale0.
# (Until valed lands, the traffic runs through the forwarding core in one
# process: bench/run.sh core.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
exec bench/run.sh core
