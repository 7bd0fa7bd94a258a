/* clawengine-daemon: the long-lived process of `clawengine daemon`, which execs it
 * (docs/development.md). A program of its own so that it maps neither libcurl (with
 * the TLS, Kerberos and LDAP libraries it pulls in) nor Lua: they were most of the
 * daemon's memory (docs/proxy.md). It does not talk to Docker; it starts clawengine
 * for that. It has no global state: the daemon reads its signals from a signalfd. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "exitcode.h"

static const char daemon_usage[] =
    "usage: clawengine daemon --config FILE [--check | --takeover]\n"
    "\n"
    "Runs the traffic switch in the foreground: listens on the routes' addresses and\n"
    "forwards connections to their containers; runs policies on schedules and answers\n"
    "the HTTP API when FILE has schedules: and api:. SIGHUP reloads FILE; SIGTERM\n"
    "drains and stops. --check only checks FILE. --takeover replaces the daemon that\n"
    "answers on the admin socket without a refused connection: its listening sockets\n"
    "pass to this one, then it drains and stops. See docs/proxy.md, docs/http-api.md.\n";

/* What clawengine passes on: its own path, and the global options it has checked
 * already, of which the daemon uses -H and the log's. */
struct opts {
    claw_log log;
    const char *host;
    const char *exe; /* clawengine, which the daemon starts for runs and addresses */
};

static int global_options(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        { "host", required_argument, 0, 'H' }, { "json", no_argument, 0, 'j' },
        { "log-level", required_argument, 0, 'l' }, { "dry-run", no_argument, 0, 'n' },
        { "clawengine", required_argument, 0, 'c' }, { 0, 0, 0, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+H:", longs, NULL)) != -1) {
        if (ch == 'H')
            o->host = optarg;
        else if (ch == 'c')
            o->exe = optarg;
        else if (ch == 'j')
            o->log.json = 1;
        else if (ch == 'l' && claw_log_level_parse(optarg) >= 0)
            o->log.level = (claw_level)claw_log_level_parse(optarg);
        else if (ch == 'n')
            return claw_usage_error(NULL, "%s", "daemon: --dry-run is not for the daemon, which "
                                    "would serve for real (`clawengine daemon --check` reads a "
                                    "config without serving)");
        else
            return claw_usage_error(NULL, "unknown option %s", argv[optind - 1]);
    }
    if (!o->exe || !*o->exe || optind >= argc || strcmp(argv[optind], "daemon") != 0)
        return claw_usage_error(NULL, "%s", "clawengine-daemon is started by `clawengine daemon`");
    return 0;
}

static int exit_code(const claw_err *err)
{
    if (strcmp(err->code, CLAW_E_UNREACHABLE) == 0)
        return CLAW_EXIT_UNREACHABLE;
    /* A config that cannot be read or used is bad input, like a bad option. */
    return strcmp(err->code, CLAW_E_PARSE) == 0 || strcmp(err->code, CLAW_E_INVALID) == 0 ||
                   strcmp(err->code, CLAW_E_NOT_FOUND) == 0
               ? CLAW_EXIT_USAGE : CLAW_EXIT_FAILURE;
}

static int run_daemon(struct opts *o, int argc, char **argv)
{
    const char *config = NULL;
    int check = 0, takeover = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
        else if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (strcmp(argv[i], "--takeover") == 0)
            takeover = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(daemon_usage, stdout), CLAW_EXIT_OK;
        else
            return claw_usage_error("daemon", "daemon: unknown argument \"%s\"", argv[i]);
    }
    if (!config)
        return claw_usage_error("daemon", "%s", "daemon: --config FILE is required");
    if (check && takeover)
        return claw_usage_error("daemon", "%s", "daemon: --check and --takeover do not go together");
    claw_err err = { 0 };
    int routes = 0, schedules = 0;
    int rc = check ? claw_daemon_check(config, o->exe, &routes, &schedules, &err)
                   : claw_daemon_run(config, o->host, o->exe, takeover, &o->log, &err);
    if (rc == 0 && check)
        printf("%s: ok: %d route(s), %d schedule(s)\n", config, routes, schedules);
    if (rc == 0)
        return CLAW_EXIT_OK;
    fprintf(stderr, "clawengine: %s\n", err.message);
    return exit_code(&err);
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    claw_log_init(&o.log, stderr, stdout);
    signal(SIGPIPE, SIG_IGN);
    int rc = global_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    return run_daemon(&o, argc - optind, argv + optind);
}
