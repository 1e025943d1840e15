/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tap_forward TAP_A TAP_B: the least any switch of tap ports must do, as a
 * ceiling for bench/run.sh nic. Two taps with virtio-net headers and the
 * offloads vale's tap ports ask for (checksum, TSO); one thread per
 * direction reads a frame from one tap and writes it to the other: one copy
 * out of the kernel and one copy back in, no lookup, no rings, no switch.
 *
 * The taps are created here and left for the caller to move into network
 * namespaces and address; it runs until killed.
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VNET_HDR_LEN 12
#define FRAME_MAX (VNET_HDR_LEN + 65535)

struct direction {
	int from, to;
};

static int tap_open(const char *name)
{
	struct ifreq ifr;
	int hdr = VNET_HDR_LEN;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
	    ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *forward(void *arg)
{
	const struct direction *d = arg;
	static _Thread_local unsigned char frame[FRAME_MAX];

	for (;;) {
		ssize_t n = read(d->from, frame, sizeof(frame));

		if (n > 0)
			(void)!write(d->to, frame, (size_t)n); /* a refused frame is dropped */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct direction ab, ba;
	pthread_t t;
	int a, b;

	if (argc != 3) {
		fprintf(stderr, "usage: tap_forward TAP_A TAP_B\n");
		return 2;
	}
	a = tap_open(argv[1]);
	b = tap_open(argv[2]);
	if (a < 0 || b < 0) {
		perror("tap_forward: cannot create the taps");
		return 1;
	}
	ab = (struct direction){a, b};
	ba = (struct direction){b, a};
	if (pthread_create(&t, NULL, forward, &ab)) {
		fprintf(stderr, "tap_forward: cannot start a thread\n");
		return 1;
	}
	forward(&ba);
	return 0;
}
