/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * valectl: the admin CLI of valed, a thin table-driven client of the control
 * socket. It takes netmap's vale-ctl options (-n -r -l -g -C -m; -a -h -d -p
 * -P come with NIC support) and subcommands; --json prints the daemon's
 * result as is. Exit code 0 only on success; errors are one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "capture.h"
#include "wire.h"

struct cli {
	const char *socket;
	bool json;
	struct ctl_client *c;
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "valectl: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* Call the daemon; print its error on failure. */
static int call(struct cli *cli, const char *method, json_t *params, json_t **ret)
{
	json_t *error = NULL;
	char text[512];
	int rc;

	if (!cli->c) {
		cli->c = ctl_client_connect(cli->socket);
		if (!cli->c) {
			json_decref(params);
			fprintf(stderr, "valectl: cannot reach valed at %s: %s%s\n",
				cli->socket ? cli->socket : ctl_default_socket(), strerror(errno),
				errno == ENOENT || errno == ECONNREFUSED ? " (is valed running?)"
									 : "");
			return 1;
		}
	}
	rc = ctl_client_call(cli->c, method, params, ret, &error, NULL, 0, NULL);
	if (rc == -1) {
		ctl_error_text(error, text, sizeof(text));
		json_decref(error);
		fprintf(stderr, "valectl: %s\n", text);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "valectl: %s: %s\n", method, strerror(-rc));
		return 1;
	}
	return 0;
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
}

static long jint(json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* ---- printers: one per result shape, text unless --json ---------------- */

static void print_list(json_t *r)
{
	json_t *sw, *p;
	size_t i, j;

	json_array_foreach(json_object_get(r, "switches"), i, sw) {
		json_array_foreach(json_object_get(sw, "ports"), j, p) {
			if (json_object_get(p, "detail")) { /* a kernel port: NIC, host, tap */
				bool persistent = json_is_true(json_object_get(p, "persistent"));
				printf("%s bridge %s port %ld %s (%s)%s\n", jstr(p, "name"),
				       jstr(sw, "name"), jint(p, "index"), jstr(p, "type"),
				       jstr(p, "detail"), persistent ? " persistent" : "");
				continue;
			}
			printf("%s bridge %s port %ld %s%s%s%s rings %ld/%ld users %ld\n",
			       jstr(p, "name"), jstr(sw, "name"), jint(p, "index"), jstr(p, "type"),
			       json_object_get(p, "monitors") ? " of " : "", jstr(p, "monitors"),
			       json_is_true(json_object_get(p, "persistent")) ? " persistent" : "",
			       jint(p, "tx_rings"), jint(p, "rx_rings"), jint(p, "users"));
		}
	}
	json_array_foreach(json_object_get(r, "pipes"), i, p) {
		if (json_object_get(p, "monitors")) /* a monitor of a pipe end */
			printf("%s monitor of %s mem %ld rings %ld/%ld users %ld\n",
			       jstr(p, "name"), jstr(p, "monitors"), jint(p, "mem_id"),
			       jint(p, "tx_rings"), jint(p, "rx_rings"), jint(p, "users"));
		else
			printf("%s pipe peer %s mem %ld rings %ld/%ld users %ld\n",
			       jstr(p, "name"), jstr(p, "peer"), jint(p, "mem_id"),
			       jint(p, "tx_rings"), jint(p, "rx_rings"), jint(p, "users"));
	}
}

static void print_info(json_t *r)
{
	printf("%s: index %ld mem_id %ld mem_size %ld tx %ldx%ld rx %ldx%ld buf_size %ld "
	       "vnet_hdr %ld%s%s users %ld\n",
	       jstr(r, "name"), jint(r, "index"), jint(r, "mem_id"), jint(r, "mem_size"),
	       jint(r, "tx_rings"), jint(r, "tx_slots"), jint(r, "rx_rings"), jint(r, "rx_slots"),
	       jint(r, "buf_size"), jint(r, "vnet_hdr_len"),
	       json_is_true(json_object_get(r, "persistent")) ? " persistent" : "",
	       json_is_true(json_object_get(r, "lossless")) ? " lossless" : "", jint(r, "users"));
}

static void print_fdb(json_t *r)
{
	json_t *e;
	size_t i;

	printf("%-17s %-15s %-6s %s\n", "mac", "port", "type", "age");
	json_array_foreach(json_object_get(r, "entries"), i, e)
		printf("%-17s %-15s %-6s %ld\n", jstr(e, "mac"), jstr(e, "port"),
		       json_is_true(json_object_get(e, "static")) ? "static" : "learned",
		       jint(e, "age"));
}

static void print_stats(json_t *r)
{
	json_t *p;
	size_t i;

	printf("%-24s %12s %12s %12s %12s %10s %8s %8s\n", "port", "tx_packets", "tx_bytes",
	       "rx_packets", "rx_bytes", "rx_drops", "errors", "reinits");
	json_array_foreach(json_object_get(r, "ports"), i, p) {
		printf("%-24s %12ld %12ld %12ld %12ld %10ld %8ld %8ld\n", jstr(p, "name"),
		       jint(p, "tx_packets"), jint(p, "tx_bytes"), jint(p, "rx_packets"),
		       jint(p, "rx_bytes"), jint(p, "rx_drops"), jint(p, "tx_errors"),
		       jint(p, "reinits"));
		if (json_object_get(p, "rx_frames")) /* a kernel port: its kernel side too */
			printf("  %s, kernel side: rx_frames %ld tx_frames %ld rx_dropped %ld "
			       "tx_dropped %ld\n",
			       jstr(p, "type"), jint(p, "rx_frames"), jint(p, "tx_frames"),
			       jint(p, "rx_dropped"), jint(p, "tx_dropped"));
	}
}

/* "used/limit" of each resource in limits (null: unlimited). */
static void print_usage(const char *title, json_t *used, json_t *limits)
{
	const char *k;
	json_t *lim;

	printf("%s:", title);
	json_object_foreach(limits, k, lim) {
		if (json_is_null(lim))
			printf(" %s %ld/unlimited", k, jint(used, k));
		else
			printf(" %s %ld/%ld", k, jint(used, k), (long)json_integer_value(lim));
	}
	printf("\n");
}

static void print_status(json_t *r)
{
	char title[64];

	printf("valed %s (api %ld) pid %ld up %ld s on %s: %ld switches, %ld ports, %ld clients, "
	       "%zu workers, shared mem_id %ld\n",
	       jstr(r, "version"), jint(r, "api"), jint(r, "pid"),
	       jint(r, "uptime_s"), jstr(r, "socket"),
	       jint(r, "switches"), jint(r, "ports"), jint(r, "clients"),
	       json_array_size(json_object_get(r, "workers")), jint(r, "shared_mem_id"));
	if (!json_object_get(r, "limits"))
		return;
	snprintf(title, sizeof(title), "limits of uid %ld (used/limit)", jint(r, "uid"));
	print_usage(title, json_object_get(r, "usage"), json_object_get(r, "limits"));
	print_usage("host-wide (used/limit)", json_object_get(r, "host_usage"),
		    json_object_get(r, "host_limits"));
}

static void print_done(json_t *r)
{
	(void)r;
}

static void print_attach(json_t *r)
{
	printf("%s:%s attached: %s\n", jstr(r, "switch"), jstr(r, "ifname"), jstr(r, "reason"));
}

static void print_interfaces(json_t *r)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(r, "interfaces"), i, e)
		printf("%s:%s bridge %s %s (%s) rx %ld tx %ld drops %ld/%ld\n", jstr(e, "switch"),
		       jstr(e, "port"), jstr(e, "switch"), jstr(e, "type"), jstr(e, "detail"),
		       jint(e, "rx_frames"), jint(e, "tx_frames"), jint(e, "rx_dropped"),
		       jint(e, "tx_dropped"));
}

static void print_flush(json_t *r)
{
	printf("%s: %ld entries flushed\n", jstr(r, "switch"), jint(r, "flushed"));
}

/* ---- the command table ------------------------------------------------- */

struct cmd {
	const char *name;
	const char *method;
	const char *key;  /* the parameter the one argument fills, or NULL */
	bool arg_needed;  /* the argument is required */
	void (*print)(json_t *result);
	const char *help;
};

static const struct cmd cmds[] = {
	{"list", "vale.list", "switch", false, print_list, "list [SWITCH]: switches and ports"},
	{"info", "port.info", "name", true, print_info, "info PORT: rings, slots, memory"},
	{"create", "vale.newif", "name", true, print_info, "create valeX:Y: a persistent port"},
	{"delete", "vale.delif", "name", true, print_done, "delete valeX:Y: a persistent port"},
	{"fdb", "switch.fdb", "switch", true, print_fdb, "fdb SWITCH: the MAC table"},
	{"flush", "switch.flush", "switch", true, print_flush, "flush SWITCH: forget learned MACs"},
	{"stats", "stats.get", "name", false, print_stats, "stats [PORT]: counters"},
	{"status", "daemon.status", NULL, false, print_status,
	 "status: the daemon, your limits and usage"},
	{"attach", "vale.attach", "switch", true, print_attach,
	 "attach SWITCH IFNAME [--mode best|native|generic] [--host]: a NIC as a port"},
	{"detach", "vale.detach", "switch", true, print_done, "detach SWITCH IFNAME: give it back"},
	{"interfaces", "vale.interfaces", NULL, false, print_interfaces,
	 "interfaces: attached NICs, host ports, taps, their adapters"},
	{"poll", "vale.polling.enable", "name", true, print_done,
	 "poll PORT [--cpu N]: polling mode, a thread of its own (-p)"},
	{"unpoll", "vale.polling.disable", "name", true, print_done,
	 "unpoll PORT: end polling mode (-P)"},
};

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int run(struct cli *cli, const struct cmd *cmd, const char *arg, json_t *extra)
{
	json_t *params = extra ? extra : json_object();
	json_t *result = NULL;

	if (cmd->arg_needed && !arg) {
		json_decref(params);
		return die("%s needs an argument (valectl -H for help)", cmd->name);
	}
	if (arg && cmd->key)
		json_object_set_new(params, cmd->key, json_string(arg));
	if (call(cli, cmd->method, params, &result))
		return 1;
	if (cli->json)
		print_json(result);
	else
		cmd->print(result);
	json_decref(result);
	return 0;
}

/* delete valeX:Y: a persistent VALE port, or else a tap port. */
static int delete_port(struct cli *cli, const char *name)
{
	json_t *error = NULL, *result = NULL;
	char text[512];
	int rc;

	if (call(cli, "daemon.status", NULL, &result)) /* connects, with a clear error */
		return 1;
	json_decref(result);
	rc = ctl_client_call(cli->c, "vale.delif", json_pack("{s:s}", "name", name), &result,
			     &error, NULL, 0, NULL);
	if (rc == -1 && ctl_error_text(error, text, sizeof(text)) == ENOENT) {
		json_decref(error);
		if (call(cli, "vale.tap.delete", json_pack("{s:s}", "name", name), &result))
			return 1;
		json_decref(result);
		return 0;
	}
	if (rc == -1) {
		fprintf(stderr, "valectl: %s\n", text);
		json_decref(error);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "valectl: vale.delif: %s\n", strerror(-rc));
		return 1;
	}
	if (cli->json)
		print_json(result);
	json_decref(result);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: valectl [--socket PATH] [--json] COMMAND [ARG]\n"
		   "       valectl [--socket PATH] [--json] -n|-r|-l|-g valeX:Y [-C a,b,c,d]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].help);
	fprintf(f, "  capture PORT[/r|/t] [-w FILE|-] [-c N] [--duration S]: pcap of a port\n");
	fprintf(f, "\nvale-ctl options:\n"
		   "  -n valeX:Y   create a persistent port     -r valeX:Y   delete it\n"
		   "  -l [valeX:Y] list ports (or one port)     -g valeX:Y   port info\n"
		   "  -C tx_slots,rx_slots,tx_rings,rx_rings    geometry for -n\n"
		   "  -m MEMID     for -n: the shared region's id (valectl status), 0 = own\n"
		   "  -a valeX:IF  attach interface IF          -h valeX:IF  attach it with a host port\n"
		   "  -d valeX:IF  detach it                     -p/-P PORT   polling mode on/off\n"
		   "create valeX:Y --tap NAME [--netns NS] [--mac M] [--mtu N] [--queues Q]: a tap port\n"
		   "environment: VALE_SOCKET (default %s)\n",
		   CTL_DEFAULT_SOCKET);
}

/* -C tx_slots,rx_slots,tx_rings,rx_rings, as vale-ctl. */
static json_t *parse_geometry(const char *spec)
{
	static const char *const keys[] = {"tx_slots", "rx_slots", "tx_rings", "rx_rings"};
	json_t *o = json_object();
	char *copy = strdup(spec), *save = NULL, *tok;
	int i = 0;

	for (tok = strtok_r(copy, ",", &save); tok && i < 4; tok = strtok_r(NULL, ",", &save), i++) {
		char *end;
		long v = strtol(tok, &end, 10);
		if (*end || end == tok || v < 0) {
			json_decref(o);
			o = NULL;
			break;
		}
		if (v > 0)
			json_object_set_new(o, keys[i], json_integer(v));
	}
	if (o && tok) { /* more than four fields */
		json_decref(o);
		o = NULL;
	}
	free(copy);
	return o;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'H'},	  {"cpu", required_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	const struct cmd *cmd = NULL;
	const char *arg = NULL, *arg2 = NULL;
	char nic_sw[64];
	bool host = false;
	json_t *geometry = NULL, *tap = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+n:r:l::g:C:m:a:h:d:p:P:H", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			cli.socket = optarg;
			break;
		case 'J':
			cli.json = true;
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'n':
		case 'r':
		case 'g':
			cmd = find_cmd(opt == 'n' ? "create" : opt == 'r' ? "delete" : "info");
			arg = optarg;
			break;
		case 'l':
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			cmd = find_cmd(optarg ? "info" : "list");
			arg = optarg;
			break;
		case 'C': {
			json_t *g = parse_geometry(optarg);
			if (!g)
				return die("-C wants tx_slots,rx_slots,tx_rings,rx_rings, got '%s'",
					   optarg);
			if (!geometry)
				geometry = json_object();
			json_object_update(geometry, g); /* keeps an earlier -m */
			json_decref(g);
			break;
		}
		case 'm': {
			char *end;
			long id = strtol(optarg, &end, 10);
			if (*end || end == optarg || id < 0 || id > 65535)
				return die("-m wants a memory region id, got '%s'", optarg);
			if (!geometry)
				geometry = json_object();
			if (id)
				json_object_set_new(geometry, "mem_id", json_integer(id));
			break;
		}
		case 'a':
		case 'h':
		case 'd': {
			const char *colon = strchr(optarg, ':');
			if (!colon || colon == optarg || !colon[1])
				return die("-a/-h/-d want valeX:IFNAME, got '%s'", optarg);
			cmd = find_cmd(opt == 'd' ? "detach" : "attach");
			snprintf(nic_sw, sizeof(nic_sw), "%.*s", (int)(colon - optarg), optarg);
			arg = nic_sw;
			arg2 = colon + 1;
			host = opt == 'h';
			break;
		}
		case 'U': { /* --cpu N before the command, as -p NAME --cpu N */
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 0)
				return die("--cpu wants a CPU number, got '%s'", optarg);
			if (!tap)
				tap = json_object();
			json_object_set_new(tap, "cpu", json_integer(n));
			break;
		}
		case 'p':
		case 'P':
			cmd = find_cmd(opt == 'p' ? "poll" : "unpoll");
			arg = optarg;
			break;
		default:
			usage(stderr);
			json_decref(geometry);
			return 2;
		}
	}
	if (!cmd) {
		if (optind >= argc) {
			usage(stderr);
			json_decref(geometry);
			return 2;
		}
		if (strcmp(argv[optind], "capture") == 0) { /* options of its own */
			json_decref(geometry);
			return capture_main(cli.socket, argc - optind, argv + optind);
		}
		cmd = find_cmd(argv[optind]);
		if (!cmd) {
			json_decref(geometry);
			return die("unknown command '%s' (valectl -H for help)", argv[optind]);
		}
		optind++;
	}
	/* Positional arguments and the options that may follow the command. */
	for (; optind < argc; optind++) {
		const char *a = argv[optind], *v = optind + 1 < argc ? argv[optind + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			cli.json = true;
		} else if (strcmp(a, "--host") == 0) {
			host = true;
		} else if (strncmp(a, "--", 2) == 0 && v &&
			   (!strcmp(a, "--tap") || !strcmp(a, "--netns") || !strcmp(a, "--mac") ||
			    !strcmp(a, "--mode") || !strcmp(a, "--mtu") || !strcmp(a, "--queues") ||
			    !strcmp(a, "--cpu"))) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!tap)
				tap = json_object();
			if (!strcmp(a, "--mtu") || !strcmp(a, "--queues") || !strcmp(a, "--cpu")) {
				if (*end || end == v || n < 0 || (n == 0 && strcmp(a, "--cpu"))) {
					json_decref(tap);
					json_decref(geometry);
					return die("%s wants a positive number", a);
				}
				json_object_set_new(tap, a + 2, json_integer(n));
			} else {
				json_object_set_new(tap, a + 2, json_string(v));
			}
			optind++;
		} else if (!arg && a[0] != '-') {
			arg = a;
		} else if (!arg2 && a[0] != '-' &&
			   (!strcmp(cmd->name, "attach") || !strcmp(cmd->name, "detach"))) {
			arg2 = a;
		} else {
			json_decref(tap);
			json_decref(geometry);
			return die("unexpected argument '%s'", a);
		}
	}
	if (geometry && strcmp(cmd->name, "create") != 0) {
		json_decref(geometry);
		json_decref(tap);
		return die("-C applies to -n/create only%s", "");
	}
	if (!strcmp(cmd->name, "attach") || !strcmp(cmd->name, "detach")) {
		json_t *params = json_object();
		if (!arg || !arg2) {
			json_decref(params);
			json_decref(tap);
			return die("%s needs SWITCH and IFNAME (or -a/-d valeX:IFNAME)", cmd->name);
		}
		json_object_set_new(params, "ifname", json_string(arg2));
		if (host)
			json_object_set_new(params, "host", json_true());
		if (tap && json_object_get(tap, "mode"))
			json_object_set(params, "mode", json_object_get(tap, "mode"));
		json_decref(tap);
		rc = run(&cli, cmd, arg, params);
	} else if (!strcmp(cmd->name, "poll") && tap) {
		json_t *params = json_object();
		if (!json_object_get(tap, "cpu") || json_object_size(tap) != 1) {
			json_decref(params);
			json_decref(tap);
			return die("poll takes only --cpu N%s", "");
		}
		json_object_set(params, "cpu", json_object_get(tap, "cpu"));
		json_decref(tap);
		rc = run(&cli, cmd, arg, params);
	} else if (tap) {
		/* create valeX:Y --tap ...: a tap port instead of a VALE port. */
		static const struct cmd tap_create = {"create", "vale.tap.create", "name", true,
						      print_done, ""};
		if (strcmp(cmd->name, "create") != 0 || json_object_get(tap, "mode")) {
			json_decref(tap);
			json_decref(geometry);
			return die("--tap/--netns/--mac/--mtu/--queues go with create only%s", "");
		}
		json_decref(geometry);
		rc = run(&cli, &tap_create, arg, tap);
	} else if (!strcmp(cmd->name, "delete") && arg) {
		rc = delete_port(&cli, arg);
	} else {
		rc = run(&cli, cmd, arg, geometry);
	}
	ctl_client_close(cli.c);
	return rc;
}
