#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian packages vale needs to build and test, if missing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      libcmocka-dev libevent-dev libjansson-dev libsystemd-dev
      libxdp-dev libbpf-dev libpcap-dev
      iproute2 iputils-ping iperf3 ethtool netsniff-ng python3
      tshark tcpdump
      clang libclang-rt-14-dev) # the libFuzzer targets (scripts/fuzz.sh)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
