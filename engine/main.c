/* The clawengine command line. The only file with global state: the cancel pipe and
 * the running Lua state, which the signal handler must reach. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "paths.h"
#include "runtime.h"

static claw_cancel g_cancel = { .rfd = -1, .wfd = -1 };
static lua_State *volatile g_lua;

static void on_signal(int sig)
{
    (void)sig;
    claw_cancel_raise(&g_cancel);
    if (g_lua)
        claw_runtime_interrupt(g_lua);
}

static const char usage_text[] =
    "usage: clawengine [OPTIONS] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  run POLICY.lua [ARG...]  run an update policy (e.g. policies/status.lua)\n"
    "  daemon --config FILE     run the traffic switch (docs/proxy.md)\n"
    "  route SUBCOMMAND ...     show and change the daemon's routes (route --help)\n"
    "  adopt NAME --route R --listen ADDR   put a container behind the daemon\n"
    "  rollback NAME            back to the version before the last update\n"
    "  recover                  finish or undo updates that were interrupted\n"
    "  history [NAME] [--json]  one record per update attempt and daemon run\n"
    "  schedule list [--json]   the daemon's schedules: next runs, last run, skipped\n"
    "\n"
    "Options:\n"
    "  -H, --host HOST        Docker host (unix:///path or tcp://host:port);\n"
    "                         default $DOCKER_HOST, else unix:///var/run/docker.sock\n"
    "      --json             events as JSON lines on stdout (human lines on stderr)\n"
    "      --log-level LEVEL  debug, info, warn or error (default info)\n"
    "      --dry-run          change nothing in Docker or on disk; log what would be done\n"
    "  -h, --help             show this help\n"
    "  -V, --version          show the versions of clawengine and its libraries\n"
    "\n"
    "Exit codes: 0 success, 1 the policy reported failure, 2 usage error,\n"
    "3 policy error, 4 Docker (or, for route and adopt, the clawengine daemon)\n"
    "unreachable, 127 no daemon program (`daemon`), 130 interrupted. See docs/cli.md.\n";

static void print_version(void)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("clawengine %s\n", CLAW_VERSION);
    printf("Lua %s\n", claw_runtime_lua_version() + 4); /* skip "Lua " */
    printf("libcurl %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");
    printf("cJSON %s\n", cJSON_Version());
    printf("libyaml %s\n", yaml_get_version_string());
}

struct cli {
    claw_log log;
    int dry_run;
    const char *host;
};

/* Global options, accepted before the command and between `run` and the policy. */
static int parse_options(int argc, char **argv, struct cli *c)
{
    static const struct option longs[] = {
        { "host", required_argument, 0, 'H' }, { "json", no_argument, 0, 'j' },
        { "log-level", required_argument, 0, 'l' }, { "dry-run", no_argument, 0, 'n' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+H:hV", longs, NULL)) != -1) {
        switch (ch) {
        case 'H': c->host = optarg; break;
        case 'j': c->log.json = 1; break;
        case 'n': c->dry_run = 1; break;
        case 'l': {
            int lv = claw_log_level_parse(optarg);
            if (lv < 0)
                return claw_usage_error(NULL, "invalid --log-level \"%s\" (debug, info, warn, error)",
                                        optarg);
            c->log.level = (claw_level)lv;
            break;
        }
        case 'h': fputs(usage_text, stdout); return -1;
        case 'V': print_version(); return -1;
        default:
            return claw_usage_error(NULL, "unknown option %s", argv[optind - 1]);
        }
    }
    claw_err e;
    if (claw_docker_check_host(c->host, &e) != 0)
        return claw_usage_error(NULL, "%s%s", e.message, c->host ? "" : " (from DOCKER_HOST)");
    return 0;
}

/* Runs a policy, or with `builtin` set, one of the commands written in Lua
 * (lua/claw/cmd/NAME.lua) with argv as its arguments. */
static int run_policy(struct cli *c, const char *builtin, int argc, char **argv)
{
    char lua_dir[PATH_MAX], pol_dir[PATH_MAX], buf[PATH_MAX + 16];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    claw_find_dirs(exe, lua_dir, pol_dir, sizeof lua_dir);
    claw_rt rt = { .cancel = &g_cancel, .log = &c->log, .dry_run = c->dry_run,
                   .docker_host = c->host, .lua_dir = lua_dir, .policy_dir = pol_dir };
    const char *policy;
    if (builtin) {
        snprintf(buf, sizeof buf, "%s/claw/cmd/%s.lua", lua_dir, builtin);
        policy = buf;
        argc++, argv--; /* the command's arguments start after its name */
    } else {
        policy = claw_policy_find(argv[0], pol_dir, buf, sizeof buf);
        if (!policy)
            policy = argv[0]; /* the runtime says it cannot open it */
    }
    lua_State *L = claw_runtime_new(&rt);
    if (!L) {
        fprintf(stderr, "clawengine: cannot create the Lua state\n");
        return CLAW_EXIT_POLICY;
    }
    g_lua = L;
    int rc = claw_runtime_run(L, policy, argc - 1, argv + 1);
    g_lua = NULL;
    claw_runtime_close(L);
    claw_docker_free(rt.docker);
    return rc;
}

/* The commands written in Lua, in lua/claw/cmd/. */
static int is_builtin(const char *name)
{
    static const char *const builtins[] = { "route", "adopt", "rollback", "recover", "history",
                                            "schedule" };
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        if (strcmp(name, builtins[i]) == 0)
            return 1;
    return 0;
}

/* `clawengine daemon ...` becomes clawengine-daemon (claw_find_daemon), a program
 * that maps neither libcurl nor Lua (docs/proxy.md), with the same arguments and
 * this program's path first, which it starts for policy runs and addresses. An
 * argument rather than the environment, which the policy runs would inherit.
 * Returns only when the exec failed. */
static int exec_daemon(int argc, char **argv)
{
    char exe[PATH_MAX], paths[3][4096], opt[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    int count, at = claw_find_daemon(exe, paths, &count);
    if (at < 0) {
        fprintf(stderr, "clawengine: the daemon program clawengine-daemon is missing: not in "
                "%s, %s or %s; is clawengine fully installed? (docs/troubleshooting.md)\n",
                paths[0], paths[1], paths[2]);
        return CLAW_EXIT_NO_DAEMON;
    }
    char **args = calloc((size_t)argc + 2, sizeof *args); /* the exec's or freed below */
    if (!args)
        return fprintf(stderr, "clawengine: out of memory\n"), CLAW_EXIT_FAILURE;
    snprintf(opt, sizeof opt, "--clawengine=%s", exe);
    args[0] = paths[at];
    args[1] = opt;
    memcpy(args + 2, argv + 1, (size_t)(argc - 1) * sizeof *args);
    /* Blocked across the exec, a SIGTERM that comes before the daemon has its
     * signalfd stays pending for it, and ends it cleanly rather than by the signal. */
    sigset_t stop, was;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &was);
    execv(paths[at], args);
    sigprocmask(SIG_SETMASK, &was, NULL);
    fprintf(stderr, "clawengine: cannot start the daemon program %s: %s "
            "(docs/troubleshooting.md)\n", paths[at], strerror(errno));
    free(args);
    return CLAW_EXIT_NO_DAEMON;
}

int main(int argc, char **argv)
{
    struct cli c = { 0 };
    /* A line as soon as it is written, on a pipe too: the daemon logs its runs'
     * output line by line, a wrapper sees progress as it happens. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    claw_log_init(&c.log, stderr, stdout);
    if (claw_cancel_init(&g_cancel) != 0) {
        fprintf(stderr, "clawengine: cannot initialise\n");
        return CLAW_EXIT_FAILURE;
    }
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = parse_options(argc, argv, &c);
    if (rc == 0 && optind < argc && strcmp(argv[optind], "daemon") == 0)
        return exec_daemon(argc, argv); /* at once: the daemon needs none of the rest */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "clawengine: cannot initialise\n");
        return CLAW_EXIT_FAILURE;
    }
    if (rc == 0 && optind >= argc)
        rc = claw_usage_error(NULL, "%s", "no command given");
    else if (rc == 0 && is_builtin(argv[optind]))
        rc = run_policy(&c, argv[optind], argc - optind - 1, argv + optind + 1);
    else if (rc == 0 && strcmp(argv[optind], "run") != 0)
        rc = claw_usage_error(NULL, "unknown command \"%s\"", argv[optind]);
    else if (rc == 0) {
        int first = optind + 1;
        optind = 0; /* restart getopt on the words after "run" */
        argv[first - 1] = argv[0];
        rc = parse_options(argc - first + 1, argv + first - 1, &c);
        int at = first - 1 + optind;
        if (rc == 0 && at >= argc)
            rc = claw_usage_error(NULL, "%s", "run: no policy given "
                                        "(e.g. clawengine run policies/status.lua)");
        if (rc == 0 && !c.dry_run) {
            /* Updates a crash or a kill left halfway are finished or undone first. */
            char *rargv[] = { "recover", "--quiet", NULL };
            int rrc = run_policy(&c, "recover", 1, rargv + 1);
            if (rrc == CLAW_EXIT_INTERRUPTED)
                rc = rrc; /* (the policy does not run) */
            else if (rrc != CLAW_EXIT_OK)
                fprintf(stderr, "clawengine: recovering interrupted updates failed; going on\n");
        }
        if (rc == 0)
            rc = run_policy(&c, NULL, argc - at, argv + at);
    }
    claw_cancel_close(&g_cancel);
    curl_global_cleanup();
    return rc < 0 ? CLAW_EXIT_OK : rc;
}
