/* SPDX-License-Identifier: BSD-2-Clause */
/* xdpprog - the XDP program of one interface, shared by the AF_XDP sockets on its queues. */
#include "xdpprog.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#define PROG_NAME "vale_xsk"
#define MAP_NAME "vale_xsks"

/*
 * The XDP program of one interface, shared by the sockets on its queues:
 * loaded and attached by the first, detached by the last. Entries are in
 * the list progs, under open_lock.
 */
struct xdpprog {
	struct xdpprog *next;
	dev_t ns_dev; /* the network namespace (its nsfs inode) and ... */
	ino_t ns_ino;
	int ifindex;	 /* ... the interface in it */
	uint32_t queues; /* XSKMAP entries */
	int map_fd, prog_fd, link_fd;
	bool drv;
	uint32_t refs;
};

/*
 * libxdp and libbpf print to stderr unless told otherwise. Their messages
 * go to a per-thread buffer instead, filled only inside xdp_lib_lock and xdp_lib_unlock
 * (capturing is on), so a failure can quote what the library said.
 */
static pthread_once_t print_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xdpprog *progs; /* under open_lock */
static __thread bool capturing;
static __thread char lib_msg[512];

/* Append s to the string in dst (size bytes), truncating quietly. */
static void append(char *dst, size_t size, const char *s)
{
	size_t len = strnlen(dst, size), n = strlen(s);

	if (len + 1 >= size)
		return;
	if (n > size - len - 1)
		n = size - len - 1;
	memcpy(dst + len, s, n);
	dst[len + n] = '\0';
}

static void capture(int warn, const char *fmt, va_list ap)
{
	char msg[sizeof(lib_msg)], old[sizeof(lib_msg)];
	size_t len;

	if (!capturing || !warn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '.'))
		msg[--len] = '\0';
	/* Newest first, joined with "; ": the cause (often the kernel's own
	 * message) comes last and must survive truncation. */
	memcpy(old, lib_msg, sizeof(old));
	lib_msg[0] = '\0';
	append(lib_msg, sizeof(lib_msg), msg);
	if (old[0]) {
		append(lib_msg, sizeof(lib_msg), "; ");
		append(lib_msg, sizeof(lib_msg), old);
	}
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	capture(level == LIBXDP_WARN, fmt, ap);
	return 0;
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	capture(level == LIBBPF_WARN, fmt, ap);
	return 0;
}

static void install_print(void)
{
	libxdp_set_print(xdp_print);
	libbpf_set_print(bpf_print);
}

void xdp_lib_lock(void)
{
	pthread_once(&print_once, install_print);
	pthread_mutex_lock(&open_lock);
	capturing = true;
	lib_msg[0] = '\0';
}

void xdp_lib_unlock(char *err)
{
	/* The library's word comes after ours: ours says what failed, its
	 * often why (the kernel's verifier or netlink message). */
	if (err && err[0] && lib_msg[0]) {
		append(err, ERR_LEN, " (");
		append(err, ERR_LEN, lib_msg);
		append(err, ERR_LEN, ")");
	}
	capturing = false;
	pthread_mutex_unlock(&open_lock);
}

/*
 * The queues of ifname as ethtool counts them (the largest of its RX, TX
 * and combined maxima: drivers count differently); 1 when it does not say.
 */
static uint32_t max_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	uint32_t n = 1;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return n;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (!ioctl(fd, SIOCETHTOOL, &ifr)) {
		n = ch.max_rx > ch.max_tx ? ch.max_rx : ch.max_tx;
		if (ch.max_combined > n)
			n = ch.max_combined;
		if (!n)
			n = 1;
	}
	close(fd);
	return n;
}

/* The name of XDP program id, in ret_name (BPF_OBJ_NAME_LEN bytes); "?" when unreadable. */
static void prog_name(uint32_t id, char *ret_name)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	int fd;

	strcpy(ret_name, "?");
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.name[0])
		memcpy(ret_name, info.name, BPF_OBJ_NAME_LEN);
	close(fd);
}

/*
 * Load the XDP program over the XSKMAP map_fd, as raw BPF instructions (no
 * compiler, no object file):
 *
 *	r2 = ctx->rx_queue_index
 *	r1 = map_fd			(a 64-bit immediate: two instructions)
 *	r3 = XDP_PASS			(the action when the queue has no socket)
 *	r0 = bpf_redirect_map(r1, r2, r3)
 *	exit
 *
 * Frags-aware (BPF_F_XDP_HAS_FRAGS); a kernel before 5.18 refuses the flag
 * (EINVAL) and gets the program without it, which serves MTUs up to a
 * page. The program's fd, or -errno.
 */
static int load_prog(int map_fd)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_LDX | BPF_MEM | BPF_W,
	     .dst_reg = BPF_REG_2,
	     .src_reg = BPF_REG_1,
	     .off = offsetof(struct xdp_md, rx_queue_index)},
	    {.code = BPF_LD | BPF_IMM | BPF_DW,
	     .dst_reg = BPF_REG_1,
	     .src_reg = BPF_PSEUDO_MAP_FD,
	     .imm = map_fd},
	    {.imm = 0}, /* the upper half of the immediate */
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	const size_t n = sizeof(insns) / sizeof(insns[0]);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP,
		    .prog_flags = BPF_F_XDP_HAS_FRAGS);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, PROG_NAME, "BSD", insns, n, &opts);
	if (fd == -EINVAL) {
		opts.prog_flags = 0;
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, PROG_NAME, "BSD", insns, n, &opts);
	}
	return fd;
}

/* Errors no other mode can cure. */
static bool fatal(int rc)
{
	return rc == -EPERM || rc == -EACCES || rc == -EAFNOSUPPORT || rc == -ENOMEM ||
	       rc == -ENOBUFS || rc == -EBUSY || rc == -ENODEV;
}

int xdp_describe(char *err, const struct xsk_params *q, int rc, const char *what)
{
	switch (-rc) {
	case EAFNOSUPPORT:
		return err_set(err, -rc, "AF_XDP is not available in this kernel");
	case EPERM:
	case EACCES:
		return err_set(err, -rc,
			       "AF_XDP on %s needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF",
			       q->ifname);
	case EBUSY:
		return err_set(err, -rc, "queue %u of %s already has an AF_XDP socket", q->queue_id,
			       q->ifname);
	case ENOBUFS:
		return err_set(
		    err, -rc,
		    "cannot pin the UMEM: RLIMIT_MEMLOCK too low (or lacking CAP_IPC_LOCK)");
	case EINVAL:
		return err_set(err, -rc,
			       "%s on %s queue %u failed: invalid argument (does the queue exist?)",
			       what, q->ifname, q->queue_id);
	case EOPNOTSUPP:
		return err_set(err, -rc, "%s on %s: not supported by the driver", what, q->ifname);
	default:
		return err_set(err, -rc, "%s on %s queue %u failed: %s", what, q->ifname,
			       q->queue_id, strerror(-rc));
	}
}

/* Why attaching a program in one mode failed (a link gives no kernel message).
 * Returns rc. */
static int describe_attach(char *err, const char *ifname, int rc, bool drv)
{
	const char *mode = drv ? "drv" : "skb";

	switch (-rc) {
	case ERANGE:
		return err_set(err, -rc,
			       "%s refuses XDP in %s mode at its MTU (or its veth peer's)", ifname,
			       mode);
	case EOPNOTSUPP:
		return err_set(err, -rc, "%s has no XDP in %s mode", ifname, mode);
	case EBUSY:
	case EEXIST:
		return err_set(err, -rc, "%s got another XDP program meanwhile", ifname);
	case EPERM:
	case EACCES:
		return err_set(err, -rc, "attaching XDP to %s needs CAP_NET_ADMIN and CAP_BPF",
			       ifname);
	default:
		return err_set(err, -rc, "attaching XDP to %s in %s mode failed: %s", ifname, mode,
			       strerror(-rc));
	}
}

/* Attach p's program to its interface in drv or skb mode. 0 or -errno. */
static int attach_mode(struct xdpprog *p, bool drv)
{
	/* A link, not a netlink attachment: see xsk.h. */
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = drv ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	int fd;

	fd = bpf_link_create(p->prog_fd, p->ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return fd;
	p->link_fd = fd;
	p->drv = drv;
	return 0;
}

/* Attach p's program in the mode q asks: drv, skb, or drv falling back to skb. */
static int attach(struct xdpprog *p, const struct xsk_params *q, char *err)
{
	char drv_err[ERR_LEN] = "", skb_err[ERR_LEN];
	int rc;

	if (q->xdp != XSK_XDP_SKB) {
		rc = attach_mode(p, true);
		if (!rc)
			return 0;
		if (q->xdp == XSK_XDP_DRV || q->bind == XSK_BIND_ZEROCOPY || fatal(rc))
			return describe_attach(err, q->ifname, rc, true);
		describe_attach(drv_err, q->ifname, rc, true);
	}
	rc = attach_mode(p, false);
	if (rc) {
		describe_attach(skb_err, q->ifname, rc, false);
		return err_set(err, -rc, "%s%s%s", skb_err, drv_err[0] ? "; " : "", drv_err);
	}
	return 0;
}

/* Detach (closing the link does) and free. Accepts a half-built p. */
static void xdpprog_free(struct xdpprog *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	if (p->prog_fd >= 0)
		close(p->prog_fd);
	if (p->map_fd >= 0)
		close(p->map_fd);
	free(p);
}

/* Whether p's XSKMAP has an entry for q's queue. 0 or -EINVAL. */
static int xdpprog_has_queue(const struct xdpprog *p, const struct xsk_params *q, char *err)
{
	if (q->queue_id < p->queues)
		return 0;
	return err_set(err, EINVAL, "%s has no queue %u (it has %u)", q->ifname, q->queue_id,
		       p->queues);
}

/* Share p, our program on q's interface, if q agrees with it. */
static int xdpprog_share(struct xdpprog *p, const struct xsk_params *q, char *err)
{
	const char *mode = p->drv ? "drv" : "skb";

	/* Every socket on an interface shares one program: follow its mode. */
	if (q->xdp != XSK_XDP_AUTO && (q->xdp == XSK_XDP_DRV) != p->drv) {
		return err_set(err, EEXIST, "%s already has an XDP program in %s mode", q->ifname,
			       mode);
	}
	if (!p->drv && q->bind == XSK_BIND_ZEROCOPY) {
		return err_set(err, EOPNOTSUPP,
			       "zero-copy needs drv XDP mode, but %s runs XDP in skb mode",
			       q->ifname);
	}
	if (xdpprog_has_queue(p, q, err))
		return -EINVAL;
	p->refs++;
	return 0;
}

/*
 * A reference to the program steering q's interface to our sockets: the one
 * they already share, or a new one, loaded and attached in the mode q asks.
 * An interface running any other XDP program is refused (EEXIST).
 */
int xdpprog_get(const struct xsk_params *q, struct xdpprog **ret_prog, char *err)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qopts);
	int ifindex = (int)if_nametoindex(q->ifname);
	char name[BPF_OBJ_NAME_LEN];
	struct stat ns = {0};
	struct xdpprog *p;
	int rc;

	/* Interface indexes are per namespace. Without /proc, one namespace
	 * is all we can tell apart. */
	stat("/proc/thread-self/ns/net", &ns);
	for (p = progs; p; p = p->next) {
		if (p->ifindex == ifindex && p->ns_ino == ns.st_ino && p->ns_dev == ns.st_dev) {
			rc = xdpprog_share(p, q, err);
			if (!rc)
				*ret_prog = p;
			return rc;
		}
	}

	rc = bpf_xdp_query(ifindex, 0, &qopts);
	if (rc) {
		return err_set(err, -rc, "cannot query the XDP program of %s: %s", q->ifname,
			       strerror(-rc));
	}
	if (qopts.attach_mode != XDP_ATTACHED_NONE) {
		prog_name(qopts.prog_id, name);
		if (strcmp(name, PROG_NAME) == 0)
			return err_set(
			    err, EEXIST,
			    "%s is taken by another process's AF_XDP sockets (another valed?)",
			    q->ifname);
		return err_set(err, EEXIST, "%s already runs XDP program %s; detach it first",
			       q->ifname, name);
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		return err_set(err, ENOMEM, "out of memory");
	}
	p->map_fd = p->prog_fd = p->link_fd = -1;
	p->ns_dev = ns.st_dev;
	p->ns_ino = ns.st_ino;
	p->ifindex = ifindex;
	p->queues = max_queues(q->ifname);
	rc = xdpprog_has_queue(p, q, err);
	if (rc)
		goto err_prog;
	p->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, MAP_NAME, sizeof(int), sizeof(int),
				   p->queues, NULL);
	if (p->map_fd < 0) {
		rc = xdp_describe(err, q, p->map_fd, "creating the XSKMAP");
		goto err_prog;
	}
	p->prog_fd = load_prog(p->map_fd);
	if (p->prog_fd < 0) {
		rc = xdp_describe(err, q, p->prog_fd, "loading the XDP program");
		goto err_prog;
	}
	rc = attach(p, q, err);
	if (rc)
		goto err_prog;
	p->refs = 1;
	p->next = progs;
	progs = p;
	*ret_prog = p;
	return 0;

err_prog:
	xdpprog_free(p);
	return rc;
}

/* Drop a reference; the last one detaches the program. */
void xdpprog_put(struct xdpprog *p)
{
	struct xdpprog **pp;

	if (--p->refs)
		return;
	for (pp = &progs; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	xdpprog_free(p);
}

int xdpprog_map_fd(const struct xdpprog *p)
{
	return p->map_fd;
}

bool xdpprog_drv(const struct xdpprog *p)
{
	return p->drv;
}
