/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture - `valectl capture`: open a monitor of a port through libvale and
 * write what it copies as a pcap file (libpcap, DLT_EN10MB), or one line per
 * frame when no file is given.
 *
 *     valectl capture PORT [-w FILE|-] [-c COUNT] [--duration S]
 *
 * PORT without a suffix is watched in both directions ("PORT/rt"); "/r" or
 * "/t" narrow it. The port's virtio-net header, if it has one, is stripped,
 * so the file holds plain Ethernet frames. Stops after COUNT frames, S
 * seconds or SIGINT/SIGTERM, flushes the file and prints "N packets
 * captured" on stderr.
 */
#ifndef VALE_CTL_CAPTURE_H
#define VALE_CTL_CAPTURE_H

/*
 * Run the capture subcommand; argv[0] is "capture". socket is valectl's
 * --socket (NULL: the default). Returns the process exit code: 0, 1 on a
 * failure (reported on stderr), 2 on bad usage.
 */
int capture_main(const char *socket, int argc, char **argv);

#endif /* VALE_CTL_CAPTURE_H */
