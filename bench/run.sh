#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh NAME: build what NAME needs (release), run it, print its
# figures; the last line is one JSON object.
#   core   the forwarding core on one thread, beside memcpy (bench_core)
#   nic    trafgen through veth -> vale0 -> veth (native, generic), iperf3 TCP
#          through veth and tap ports, beside the Linux bridge; and what bounds
#          them: the rate vale's first port receives with nothing behind it,
#          and TCP through a plain tap-to-tap forwarder (bench/tap_forward.c)
#   vale   vale-pktgen tx -> valed -> vale-pktgen rx, 60 and 1514 bytes, and a
#          ping-pong round trip, beside the Linux bridge (shared/bench/peers)
#   pipe   vale-pktgen tx vale0:p{1 -> pipe -> rx vale0:p}1 (60 bytes), a pipe
#          ping-pong round trip (valed -P), beside VALE port-to-port 60 bytes and
#          the cost of a monitor (vale0:b/r) on it, all in the same run
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build() {
	"$top/scripts/deps.sh"
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DVALE_BUILD_TESTS=OFF >/dev/null
	cmake --build build-bench -j "$(nproc)" --target "$@" >/dev/null
}

peers=$(cd "$top/../shared/bench/peers" 2>/dev/null && pwd || true)

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# field of the last JSON line of a file
jfield() { tail -n 1 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

bench_vale() {
	local T=${BENCH_SECONDS:-4} trials=${BENCH_TRIALS:-3} dir sock pid
	build valed vale-pktgen
	dir=$(mktemp -d /tmp/vale-bench-XXXXXX)
	sock=$dir/valed.sock
	export VALE_SOCKET=$sock
	build-bench/ctl/valed -s "$sock" -w 1 -p "${BENCH_POLL_US:-50}" 2>"$dir/valed.log" &
	pid=$!
	trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	echo "bench vale: vale-pktgen tx vale0:a -> valed (1 worker) -> vale-pktgen rx vale0:b, ${T}s x $trials ($(nproc) cores)"
	local pg=build-bench/tools/vale-pktgen len t mpps=() res
	declare -A med
	for len in 60 1514; do
		mpps=()
		for t in $(seq "$trials"); do
			$pg -i vale0:b -f rx --duration "$T" --json >"$dir/rx.json" 2>/dev/null &
			local rx=$!
			sleep 0.3
			$pg -i vale0:a -f tx -l "$len" --duration $((T + 2)) >/dev/null 2>&1 &
			local tx=$!
			wait $rx || true
			kill -INT $tx 2>/dev/null; wait $tx 2>/dev/null || true
			res=$(python3 -c "import json; print('%.3f' % (json.load(open('$dir/rx.json'))['pps']/1e6))" 2>/dev/null || echo 0)
			mpps+=("$res")
			echo "  $len B trial $t: $res Mpps received"
		done
		med[$len]=$(median "${mpps[@]}")
		echo "vale $len B: ${med[$len]} Mpps ($(python3 -c "print('%.2f' % (${med[$len]}*$len*8/1000))") Gbit/s), median of $trials"
	done
	kill $pid; wait $pid 2>/dev/null || true

	# Round trip with polling: a polling worker alone on CPU 1, ping and pong
	# spinning (and yielding to each other) on CPU 0.
	local rtts=() rtts_sleep=() rtt rtt_sleep
	pingpong() { # rtt-array-name valed-args... -- pktgen-args...
		local -n out=$1
		shift
		local vargs=() pargs=() cpu_v=() cpu_p=()
		while [ "$1" != "--" ]; do vargs+=("$1"); shift; done
		shift
		pargs=("$@")
		if [ "${vargs[0]}" = "-P" ]; then cpu_v=(taskset -c 1); cpu_p=(taskset -c 0); fi
		"${cpu_v[@]}" build-bench/ctl/valed -s "$sock" "${vargs[@]}" 2>>"$dir/valed.log" &
		pid=$!
		for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
		for t in $(seq "$trials"); do
			"${cpu_p[@]}" $pg -i vale0:d -f pong "${pargs[@]}" >/dev/null 2>&1 &
			local pong=$!
			sleep 0.3
			"${cpu_p[@]}" $pg -i vale0:c -f ping --duration 2 --json "${pargs[@]}" >"$dir/ping.json" 2>/dev/null || true
			kill -INT $pong 2>/dev/null; wait $pong 2>/dev/null || true
			out+=("$(python3 -c "import json; print('%.2f' % (json.load(open('$dir/ping.json'))['rtt_p50_ns']/1e3))" 2>/dev/null || echo 0)")
			echo "  ping-pong ${vargs[0]} trial $t: p50 ${out[-1]} us"
		done
		kill $pid; wait $pid 2>/dev/null || true
	}
	pingpong rtts -P -- --busy
	pingpong rtts_sleep -p 50 --
	rtt=$(median "${rtts[@]}")
	rtt_sleep=$(median "${rtts_sleep[@]}")
	echo "vale ping-pong: rtt p50 $rtt us with polling (valed -P on CPU 1, ping/pong --busy on CPU 0), $rtt_sleep us sleeping (valed -p 50, poll()), medians of $trials"
	trap - EXIT
	rm -rf "$dir"

	local peer=0
	if [ -n "$peers" ] && command -v trafgen >/dev/null; then
		local pr=()
		"$peers/linux-bridge.sh" down
		"$peers/linux-bridge.sh" up
		for t in $(seq "$trials"); do
			pr+=("$("$peers/linux-bridge.sh" rate l2_60.cfg "$T" | sed -n 's/.*rx_mpps=//p')")
			echo "  linux bridge 60 B trial $t: ${pr[-1]} Mpps"
		done
		"$peers/linux-bridge.sh" down
		peer=$(median "${pr[@]}")
		echo "peer linux bridge 60 B: $peer Mpps, median of $trials"
	else
		echo "peer linux bridge: skipped (needs ../shared/bench/peers and trafgen from netsniff-ng)"
	fi
	python3 -c "import json; print(json.dumps({'bench':'vale','mpps_60':${med[60]},'mpps_1514':${med[1514]},'gbps_1514':round(${med[1514]}*1514*8/1000,2),'rtt_p50_us':$rtt,'rtt_p50_us_sleeping':$rtt_sleep,'peer_linux_bridge_mpps_60':$peer}))"
}

# Median Mpps received on $2 while $1 sends 60-byte frames, over $trials trials
# (progress on stderr); with a 4th port, a vale-pktgen rx also reads it meanwhile.
rate60() { # tx-port rx-port label [side-port]
	local txp=$1 rxp=$2 label=$3 side=${4:-} t res r=() sidepid=
	for t in $(seq "$trials"); do
		$pg -i "$rxp" -f rx "${geo[@]}" --duration "$T" --json >"$dir/rx.json" 2>/dev/null &
		local rx=$!
		sleep 0.3
		if [ -n "$side" ]; then
			$pg -i "$side" -f rx --duration $((T + 2)) >/dev/null 2>&1 &
			sidepid=$!
			sleep 0.3
		fi
		$pg -i "$txp" -f tx -l 60 "${geo[@]}" --duration $((T + 2)) >/dev/null 2>&1 &
		local tx=$!
		wait $rx || true
		kill -INT $tx 2>/dev/null; wait $tx 2>/dev/null || true
		if [ -n "$sidepid" ]; then kill -INT "$sidepid" 2>/dev/null; wait "$sidepid" 2>/dev/null || true; fi
		res=$(python3 -c "import json; print('%.3f' % (json.load(open('$dir/rx.json'))['pps']/1e6))" 2>/dev/null || echo 0)
		r+=("$res")
		echo "  $label trial $t: $res Mpps received" >&2
	done
	median "${r[@]}"
}

bench_pipe() {
	local T=${BENCH_SECONDS:-4} trials=${BENCH_TRIALS:-3} dir sock pid
	local pg=build-bench/tools/vale-pktgen
	build valed vale-pktgen
	dir=$(mktemp -d /tmp/vale-bench-XXXXXX)
	sock=$dir/valed.sock
	export VALE_SOCKET=$sock
	startd() { "$@" build-bench/ctl/valed -s "$sock" "${vargs[@]}" 2>>"$dir/valed.log" &
		pid=$!; for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done; }
	stopd() { kill $pid; wait $pid 2>/dev/null || true; rm -f "$sock"; }
	trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
	# Pipes and ports alike get ${BENCH_SLOTS:-8192}-slot rings and 2048-packet
	# bursts: with three busy threads on two cores, fewer larger batches win.
	local geo=(-C "${BENCH_SLOTS:-8192}" -b 2048)
	echo "bench pipe: 60-byte frames, ${T}s x $trials ($(nproc) cores), valed -w 1 -p ${BENCH_POLL_US:-50}, pktgen ${geo[*]}"
	local vargs=(-w 1 -p "${BENCH_POLL_US:-50}")
	startd
	local pipe vale vale_mon mon=null vale_zmon zmon=null rtt
	pipe=$(rate60 'vale0:p{1' 'vale0:p}1' "pipe 60 B")
	echo "pipe 60 B: $pipe Mpps (vale0:p{1 -> vale0:p}1, zero copy), median of $trials"
	vale=$(rate60 vale0:a vale0:b "vale 60 B")
	echo "vale 60 B: $vale Mpps (vale0:a -> vale0:b, one copy), median of $trials, same run"
	# A monitor of b's RX: only if valed serves monitors ("vale0:b/r").
	$pg -i vale0:b -f rx --duration 3 >/dev/null 2>&1 &
	local probe=$!
	sleep 0.3
	# (a pktgen rx may wait for a first frame: bound it; 124 = it ran, so it opened)
	local prc=0
	timeout 2 $pg -i vale0:b/r -f rx --duration 1 >/dev/null 2>&1 || prc=$?
	kill -INT $probe 2>/dev/null; wait $probe 2>/dev/null || true
	if [ $prc = 0 ] || [ $prc = 124 ]; then
		vale_mon=$(rate60 vale0:a vale0:b "vale 60 B + monitor" vale0:b/r)
		mon=$(python3 -c "print(round(100*(1-$vale_mon/$vale),1) if $vale > 0 else 'null')")
		echo "vale 60 B with a monitor on vale0:b/r: $vale_mon Mpps; monitor cost $mon %"
		vale_zmon=$(rate60 vale0:a vale0:b "vale 60 B + zero-copy monitor" vale0:b/zr)
		zmon=$(python3 -c "print(round(100*(1-$vale_zmon/$vale),1) if $vale > 0 else 'null')")
		echo "vale 60 B with a zero-copy monitor on vale0:b/zr: $vale_zmon Mpps; cost $zmon %"
	else
		echo "monitor cost: null (valed does not open vale0:b/r)"
	fi
	stopd

	# Round trip through a pipe: valed polling alone on CPU 1, ping and pong
	# spinning on CPU 0, as bench vale does for ports.
	vargs=(-P)
	startd taskset -c 1
	local rtts=()
	for t in $(seq "$trials"); do
		taskset -c 0 $pg -i 'vale0:q}1' -f pong --busy >/dev/null 2>&1 &
		local pong=$!
		sleep 0.3
		taskset -c 0 $pg -i 'vale0:q{1' -f ping --duration 2 --json --busy >"$dir/ping.json" 2>/dev/null || true
		kill -INT $pong 2>/dev/null; wait $pong 2>/dev/null || true
		rtts+=("$(python3 -c "import json; print('%.2f' % (json.load(open('$dir/ping.json'))['rtt_p50_ns']/1e3))" 2>/dev/null || echo 0)")
		echo "  pipe ping-pong trial $t: p50 ${rtts[-1]} us"
	done
	stopd
	rtt=$(median "${rtts[@]}")
	echo "pipe ping-pong: rtt p50 $rtt us (valed -P on CPU 1, ping/pong --busy on CPU 0), median of $trials"
	trap - EXIT
	rm -rf "$dir"
	python3 -c "import json; print(json.dumps({'bench':'pipe','pipe_mpps_60':$pipe,'pipe_rtt_p50_us':$rtt,'vale_mpps_60':$vale,'monitor_cost_pct':$mon,'zcopy_monitor_cost_pct':$zmon}))"
}


# NICs: trafgen frames through veth -> vale0 -> veth (native and generic),
# iperf3 TCP between two namespaces through vale0 (veth ports and tap ports),
# each beside the Linux bridge of shared/bench/peers/linux-bridge.sh.
bench_nic() {
	local T=${BENCH_SECONDS:-4} trials=${BENCH_TRIALS:-3} lb dir sock pid
	[ -n "$peers" ] || { echo "bench nic needs ../shared/bench/peers" >&2; exit 1; }
	command -v trafgen >/dev/null || { echo "bench nic needs trafgen (netsniff-ng)" >&2; exit 1; }
	build valed valectl tap_forward
	lb=$peers/linux-bridge.sh
	dir=$(mktemp -d /tmp/vale-bench-XXXXXX)
	sock=$dir/valed.sock
	local ctl="build-bench/ctl/valectl --socket $sock"
	"$lb" down
	local fwd=
	trap '"$lb" down; kill $pid $fwd 2>/dev/null; rm -rf "$dir"' EXIT
	echo "bench nic: trafgen 60 B a0 -> [a1 vale0 b1] -> b0, iperf3 TCP ${T}s (one flow), $trials trials of each, medians ($(nproc) cores)"

	tcp() { # label client-netns server-ip -> median Gbit/s of trials (one flow each)
		local r=() t
		for t in $(seq "$trials"); do
			ip netns exec rsw-b iperf3 -s -1 -D -p 5399 >/dev/null 2>&1
			sleep 0.3
			r+=("$(ip netns exec "$2" iperf3 -c "$3" -p 5399 -t "$T" -J 2>/dev/null |
				python3 -c "import json,sys; print('%.2f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second']/1e9))" 2>/dev/null || echo 0)")
			echo "  $1 TCP trial $t: ${r[-1]} Gbit/s" >&2
		done
		median "${r[@]}"
	}
	rates() { # label -> median Mpps of trials
		local r=() t m try
		for t in $(seq "$trials"); do
			# trafgen quits at its first EAGAIN (a full socket buffer while
			# the receiver lags): such a trial measured nothing, run it again
			# (twice at most), for the bridge as for vale.
			for try in 1 2 3; do
				m=$("$lb" rate l2_60.cfg "$T" | sed -n 's/.*rx_mpps=//p')
				[ "$m" != 0.00 ] && break
				echo "  $1 trial $t: trafgen stopped early (0.00 Mpps), repeated" >&2
			done
			r+=("$m")
			echo "  $1 trial $t: ${r[-1]} Mpps" >&2
		done
		median "${r[@]}"
	}

	port_rates() { # label -> median Mpps that vale's port a1 received, trafgen as in rates
		local r=() t a b s e tg
		for t in $(seq "$trials"); do
			ip netns exec rsw-a timeout -k 2 -s INT $((T + 3)) trafgen --dev a0 \
				--conf "$peers/l2_60.cfg" --cpus 1 --no-sock-mem >/dev/null 2>&1 &
			tg=$!
			sleep 2
			a=$(a1_rx); s=$(date +%s.%N); sleep "$T"; b=$(a1_rx); e=$(date +%s.%N)
			wait $tg || true
			r+=("$(python3 -c "print('%.2f' % (($b - $a) / ($e - $s) / 1e6))")")
			echo "  $1 trial $t: ${r[-1]} Mpps" >&2
		done
		median "${r[@]}"
	}
	a1_rx() {
		$ctl --json interfaces | python3 -c 'import json,sys
print(next(i["rx_frames"] for i in json.load(sys.stdin)["interfaces"] if i["port"] == "a1"))'
	}

	# The peer: the kernel bridge.
	"$lb" up
	local peer_mpps peer_tcp
	peer_mpps=$(rates "linux bridge 60 B")
	peer_tcp=$(tcp "linux bridge" rsw-a 10.77.0.2)
	echo "peer linux bridge: $peer_mpps Mpps at 60 B, $peer_tcp Gbit/s TCP"
	"$lb" down

	# vale0 in the bridge's namespace, a1 and b1 attached. trafgen runs on
	# CPU 0: for the 60-byte trials valed is kept to the other CPUs, as a
	# user keeps a switch off its load generator's CPU (the ports' threads,
	# created at attach, inherit this); TCP gets all CPUs back.
	NO_BRIDGE=1 "$lb" up
	ip netns exec rsw-br build-bench/ctl/valed -s "$sock" 2>"$dir/valed.log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	local all_cpus="0-$(($(nproc) - 1))" vale_cpus
	vale_cpus=$([ "$(nproc)" -gt 1 ] && echo "1-$(($(nproc) - 1))" || echo 0)
	echo "valed (defaults: 1 worker, poll_us 50), 60 B trials on CPUs $vale_cpus (taskset), TCP on $all_cpus"
	local mode native_mpps generic_mpps native_rx_only generic_rx_only veth_tcp=0
	for mode in native generic; do
		# XDP sees frames before checksum offload is resolved.
		[ $mode = native ] && { ip netns exec rsw-a ethtool -K a0 tx off >/dev/null 2>&1; ip netns exec rsw-b ethtool -K b0 tx off >/dev/null 2>&1; }
		[ $mode = generic ] && { ip netns exec rsw-a ethtool -K a0 tx on >/dev/null 2>&1; ip netns exec rsw-b ethtool -K b0 tx on >/dev/null 2>&1; }
		taskset -a -p -c "$vale_cpus" $pid >/dev/null
		# The ceiling first: a1 alone, what the kernel hands vale's
		# first port at all (nothing to forward to, no second hop).
		$ctl attach vale0 a1 --mode $mode >/dev/null
		local m
		m=$(port_rates "vale $mode a1 alone, received")
		[ $mode = native ] && native_rx_only=$m || generic_rx_only=$m
		$ctl attach vale0 b1 --mode $mode >/dev/null
		ip netns exec rsw-a ping -c 1 -w 3 10.77.0.2 >/dev/null 2>&1 || true # learn b0
		m=$(rates "vale $mode 60 B")
		[ $mode = native ] && native_mpps=$m || generic_mpps=$m
		taskset -a -p -c "$all_cpus" $pid >/dev/null
		if [ $mode = generic ]; then veth_tcp=$(tcp "vale veth (generic)" rsw-a 10.77.0.2); fi
		echo "vale $mode: $m Mpps at 60 B"
		$ctl -d vale0:a1 >/dev/null; $ctl -d vale0:b1 >/dev/null
	done
	echo "vale veth (generic) TCP: $veth_tcp Gbit/s"

	# Tap ports: one tap in each of two fresh namespaces.
	local tap_tcp
	ip netns del rsw-a; ip netns del rsw-b
	ip netns add rsw-a; ip netns add rsw-b
	$ctl create vale1:ta --tap vta --netns rsw-a >/dev/null
	$ctl create vale1:tb --tap vtb --netns rsw-b >/dev/null
	ip -n rsw-a addr add 10.77.0.1/24 dev vta; ip -n rsw-b addr add 10.77.0.2/24 dev vtb
	ip netns exec rsw-a ping -c 1 -w 3 10.77.0.2 >/dev/null 2>&1 || true
	tap_tcp=$(tcp "vale tap" rsw-a 10.77.0.2)
	echo "vale tap TCP: $tap_tcp Gbit/s"
	kill $pid; wait $pid 2>/dev/null || true

	# The ceiling of tap ports: a plain forwarder between two taps (one
	# copy out of the kernel, one back in, nothing else), same namespaces;
	# like valed, it runs in rsw-br, so the root namespace is never touched.
	local fwd_tcp
	ip netns exec rsw-br build-bench/bench/tap_forward fta ftb &
	fwd=$!
	for _ in $(seq 50); do ip -n rsw-br link show ftb >/dev/null 2>&1 && break; sleep 0.1; done
	ip -n rsw-br link set fta netns rsw-a; ip -n rsw-br link set ftb netns rsw-b
	ip -n rsw-a link set fta up; ip -n rsw-b link set ftb up
	ip -n rsw-a addr add 10.77.0.1/24 dev fta; ip -n rsw-b addr add 10.77.0.2/24 dev ftb
	ip netns exec rsw-a ping -c 1 -w 3 10.77.0.2 >/dev/null 2>&1 || true
	fwd_tcp=$(tcp "plain tap forwarder" rsw-a 10.77.0.2)
	echo "plain tap-to-tap forwarder (no switch) TCP: $fwd_tcp Gbit/s"
	kill $fwd; wait $fwd 2>/dev/null || true
	"$lb" down
	trap - EXIT
	rm -rf "$dir"
	python3 -c "import json; print(json.dumps({'bench':'nic','native_mpps_60':$native_mpps,'generic_mpps_60':$generic_mpps,'peer_linux_bridge_mpps_60':$peer_mpps,'veth_tcp_gbps':$veth_tcp,'tap_tcp_gbps':$tap_tcp,'peer_linux_bridge_tcp_gbps':$peer_tcp,'native_rx_only_mpps_60':$native_rx_only,'generic_rx_only_mpps_60':$generic_rx_only,'tap_forwarder_tcp_gbps':$fwd_tcp,'vale_cpus_60':'$vale_cpus'}))"
}

case "${1:-}" in
nic)
	bench_nic
	;;
pipe)
	bench_pipe
	;;
vale)
	bench_vale
	;;
core)
	shift
	build bench_core
	echo "bench core: 2 ports on vale0, one thread, 1024-slot rings ($(nproc) cores, $(uname -r))"
	exec build-bench/bench/bench_core "$@"
	;;
*)
	echo "usage: bench/run.sh core [-t SECONDS_PER_TRIAL] [-r TRIALS] | vale | pipe | nic" >&2
	exit 2
	;;
esac
