/*
 * cli_serve.c - `newsgate serve`: parse the options, load the
 * configuration, start logging, hand over to server_run() (server.c),
 * which applies the TLS and --user options over the configuration.
 */
#include <getopt.h>

#include "common.h"
#include "cli.h"
#include "config.h"
#include "server.h"

#define SERVE_SYNOPSIS                                                         \
	"serve [--spool DIR] [--config FILE] [--listen ADDR:PORT]...\n"        \
	"                [--tls-listen ADDR:PORT] [--tls-cert FILE]\n"         \
	"                [--tls-key FILE] [--user USER]\n"                     \
	"                [--port-file FILE] [--daemon] [--pid-file FILE]\n"    \
	"                [--inetd] [--syslog] [-v]"

int
cli_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"daemon", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"inetd", no_argument, NULL, 'i'},
	    {"listen", required_argument, NULL, 'l'},
	    {"pid-file", required_argument, NULL, 'P'},
	    {"port-file", required_argument, NULL, 'p'},
	    {"spool", required_argument, NULL, 's'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"tls-cert", required_argument, NULL, 'C'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"tls-listen", required_argument, NULL, 'T'},
	    {"user", required_argument, NULL, 'u'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	struct server_opts o;
	struct config conf;
	bool use_syslog = false;
	int ch, verbosity = 0;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while (
	    (ch = getopt_long(argc, argv, "c:hl:s:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_path = optarg;
			break;
		case 'd':
			o.daemon = true;
			break;
		case 'i':
			o.inetd = true;
			break;
		case 'l':
			if (o.nlisten == SERVER_LISTEN_MAX) {
				fprintf(stderr,
				    "newsgate serve: at most %d "
				    "--listen\n",
				    SERVER_LISTEN_MAX);
				return 2;
			}
			o.listen[o.nlisten++] = optarg;
			break;
		case 'P':
			o.pid_file = optarg;
			break;
		case 'p':
			o.port_file = optarg;
			break;
		case 's':
			o.spool_dir = optarg;
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'C':
			o.tls_cert = optarg;
			break;
		case 'K':
			o.tls_key = optarg;
			break;
		case 'T':
			o.tls_listen = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			fprintf(stdout, "usage: newsgate %s\n", SERVE_SYNOPSIS);
			return 0;
		default:
			return cli_usage(SERVE_SYNOPSIS);
		}
	}
	if (optind != argc || (o.inetd && (o.daemon || o.nlisten > 0)))
		return cli_usage(SERVE_SYNOPSIS);
	/* A daemon has no stderr; under inetd stderr may be the client. */
	log_init("newsgate", use_syslog || o.daemon || o.inetd, verbosity);
	if (cli_config(&conf, o.config_path, o.spool_dir) == -1)
		return 1;
	return server_run(&conf, &o);
}
