#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "api.h"
#include "atomic.h"
#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "lookup.h"
#include "paths.h"
#include "proxy.h"
#include "runs.h"
#include "schedule.h"
#include "yamltree.h"

/* ---- config ---- */

typedef struct cfg_route {
    char name[128];
    cJSON *listen; /* array of strings */
    char container[128];
    int port, sticky;
} cfg_route;

typedef struct config {
    char admin[108];
    char state[4096];
    char log[4096];
    double drain_timeout, idle_timeout;
    cfg_route *routes;
    int nroutes;
    claw_api_cfg api;
    claw_schedule *sched;
    int nsched;
} config;

static void config_free(config *c)
{
    for (int i = 0; i < c->nroutes; i++)
        cJSON_Delete(c->routes[i].listen);
    free(c->routes);
    claw_api_cfg_free(&c->api);
    claw_sched_free(c->sched, c->nsched);
    memset(c, 0, sizeof *c);
}

static int bad(claw_err *err, const char *file, const char *where, const char *what)
{
    return claw_cfg_bad(err, file, where, what);
}

static int parse_route(const cJSON *r, cfg_route *out, const char *file, claw_err *err)
{
    static const char *const keys[] = { "listen", "container", "port", "sticky", NULL };
    char where[200];
    snprintf(where, sizeof where, "routes.%.120s", r->string);
    if (!cJSON_IsObject(r))
        return bad(err, file, where, "must be a mapping with listen, container and port");
    if (claw_cfg_only_keys(r, keys, file, where, err) != 0)
        return -1;
    if (!claw_admin_name_ok(r->string, sizeof out->name))
        return bad(err, file, where, "a route's name is " CLAW_NAME_RULE);
    snprintf(out->name, sizeof out->name, "%s", r->string);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(r, "listen");
    out->listen = claw_cfg_strings(l, 0);
    if (!out->listen || cJSON_GetArraySize(out->listen) > CLAW_MAX_LISTEN)
        return bad(err, file, strcat(where, ".listen"), "must be an address or a list of 1 to 16 addresses");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "container");
    if (!cJSON_IsString(c) || !claw_admin_name_ok(c->valuestring, sizeof out->container))
        return bad(err, file, strcat(where, ".container"), "must be the name of a container");
    snprintf(out->container, sizeof out->container, "%s", c->valuestring);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "port");
    if (!cJSON_IsNumber(p) || p->valuedouble != floor(p->valuedouble) || p->valuedouble < 1 ||
        p->valuedouble > 65535)
        return bad(err, file, strcat(where, ".port"), "must be a port number from 1 to 65535");
    out->port = (int)p->valuedouble;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "sticky");
    if (s && !cJSON_IsBool(s))
        return bad(err, file, strcat(where, ".sticky"), "must be true or false");
    out->sticky = cJSON_IsTrue(s);
    for (cJSON *a = out->listen->child; a; a = a->next) {
        struct sockaddr_storage ss;
        socklen_t len;
        claw_err aerr;
        if (claw_parse_addr(a->valuestring, &ss, &len, &aerr) != 0)
            return bad(err, file, strcat(where, ".listen"), aerr.message);
    }
    return 0;
}

/* A port serves one route: two routes listening on it would fail at start. */
static int check_ports(const config *c, const char *file, claw_err *err)
{
    for (int i = 1; i < c->nroutes; i++)
        for (int j = 0; j < i; j++) {
            const cJSON *a, *b;
            cJSON_ArrayForEach(a, c->routes[i].listen) {
                cJSON_ArrayForEach(b, c->routes[j].listen) {
                    if (!claw_addr_overlaps(a->valuestring, b->valuestring))
                        continue;
                    char where[200], what[400];
                    snprintf(where, sizeof where, "routes.%.120s.listen", c->routes[i].name);
                    snprintf(what, sizeof what, "%.100s takes the port of routes.%.120s's %.100s: "
                             "a port serves one route", a->valuestring, c->routes[j].name, b->valuestring);
                    return bad(err, file, where, what);
                }
            }
        }
    return 0;
}

static int str_field(const cJSON *root, const char *key, char *out, size_t size,
                     const char *file, claw_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !*v->valuestring)
        return bad(err, file, key, "must be a path");
    if (strlen(v->valuestring) >= size) {
        char what[80];
        snprintf(what, sizeof what, "must be a path shorter than %zu bytes", size);
        return bad(err, file, key, what);
    }
    snprintf(out, size, "%s", v->valuestring);
    return 0;
}

static int load_config(const char *path, config *c, claw_err *err)
{
    static const char *const keys[] = { "admin", "state", "log", "drain_timeout",
                                        "idle_timeout", "routes", "api", "schedules", NULL };
    memset(c, 0, sizeof *c);
    cJSON *root = claw_yaml_load(path, err);
    if (!root) {
        if (err && strcmp(err->code, CLAW_E_IO) == 0) /* a folder, no permission: bad input too */
            snprintf(err->code, sizeof err->code, "%s", CLAW_E_INVALID);
        return -1;
    }
    char statedir[4000];
    snprintf(c->admin, sizeof c->admin, "%s", claw_admin_default_path());
    snprintf(c->state, sizeof c->state, "%s/routes.json", claw_state_dir(statedir, sizeof statedir));
    int rc = -1;
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(root, "routes");
    if (!cJSON_IsObject(root))
        bad(err, path, "top level", "must be a mapping");
    else if (claw_cfg_only_keys(root, keys, path, "top level", err) != 0)
        ;
    else if (str_field(root, "admin", c->admin, sizeof c->admin, path, err) != 0 ||
             str_field(root, "state", c->state, sizeof c->state, path, err) != 0 ||
             str_field(root, "log", c->log, sizeof c->log, path, err) != 0)
        ;
    else if (claw_cfg_seconds(cJSON_GetObjectItem(root, "drain_timeout"), 30, &c->drain_timeout) != 0)
        bad(err, path, "drain_timeout", "must be seconds");
    else if (claw_cfg_seconds(cJSON_GetObjectItem(root, "idle_timeout"), 600, &c->idle_timeout) != 0)
        bad(err, path, "idle_timeout", "must be seconds");
    else if (routes && !cJSON_IsObject(routes))
        bad(err, path, "routes", "must be a mapping of route names to routes");
    else {
        c->routes = calloc((size_t)cJSON_GetArraySize(routes) + 1, sizeof *c->routes);
        rc = 0;
        for (const cJSON *r = routes ? routes->child : NULL; r && rc == 0; r = r->next)
            rc = parse_route(r, &c->routes[c->nroutes++], path, err);
        if (rc == 0)
            rc = check_ports(c, path, err);
        if (rc == 0)
            rc = claw_api_cfg_parse(cJSON_GetObjectItemCaseSensitive(root, "api"), path, &c->api, err);
        if (rc == 0)
            rc = claw_sched_parse(cJSON_GetObjectItemCaseSensitive(root, "schedules"), path,
                                  &c->sched, &c->nsched, err);
    }
    cJSON_Delete(root);
    if (rc != 0)
        config_free(c);
    return rc;
}

/* A policy the config names that `clawengine run` (exe) would not find. */
static int policy_unknown(const char *file, const char *where, const char *policy, const char *pol_dir,
                          claw_err *err)
{
    char buf[4300], what[4200];
    if (claw_policy_find(policy, pol_dir, buf, sizeof buf))
        return 0;
    snprintf(what, sizeof what, "%s: no such file, nor a stock policy of that name", policy);
    return claw_cfg_bad(err, file, where, what);
}

int claw_daemon_check(const char *config_path, const char *exe, int *routes, int *schedules,
                      claw_err *err)
{
    config c;
    if (load_config(config_path, &c, err) != 0)
        return -1;
    char lua_dir[4096], pol_dir[4096], where[200];
    claw_find_dirs(exe, lua_dir, pol_dir, sizeof pol_dir);
    int rc = 0;
    for (int i = 0; rc == 0 && i < c.nsched; i++) {
        snprintf(where, sizeof where, "schedules.%.120s.policy", c.sched[i].name);
        rc = policy_unknown(config_path, where, c.sched[i].policy, pol_dir, err);
    }
    if (rc == 0 && c.api.update_policy[0])
        rc = policy_unknown(config_path, "api.update.policy", c.api.update_policy, pol_dir, err);
    *routes = c.nroutes;
    *schedules = c.nsched;
    config_free(&c);
    return rc;
}

/* ---- the daemon ---- */

typedef struct daemon daemon_t;

typedef struct admin_client {
    claw_watch w;
    int fd;
    claw_buf in;
    daemon_t *d;
    struct ticket *waiting; /* a drain or an address whose answer this client awaits */
    int handover;           /* took the listening sockets (its pid): may retire this daemon */
    struct admin_client *next;
} admin_client;

/* A command whose answer comes later: a drain, or one that waits for a backend's
 * address (req, owned). The command is carried out even if its client went away. */
typedef struct ticket {
    daemon_t *d;
    admin_client *client; /* NULL once the client went away */
    claw_admin_req req;
} ticket;

struct daemon {
    config cfg;
    const char *config_path;
    claw_proxy *p;
    claw_lookups *lookups; /* backend addresses, from `clawengine route resolve` */
    int starting;          /* lookups of backends without a saved address, at start */
    long lookups_asked;    /* lookups of backends asked so far */
    int announced;         /* "serving" was said: the start's lookups have ended */
    double t0;             /* when the daemon started (monotonic) */
    claw_log *log;         /* a copy of the caller's, writing to `logfile` when there is one */
    FILE *logfile, *stderr_log; /* the config's log: file (reopened on SIGHUP), and what it replaced */
    int stderr_tty;
    cJSON *ports; /* route name -> container port */
    int admin_fd, sig_fd;
    claw_watch admin_w, sig_w;
    admin_client *clients;
    int stop, terminating;
    int ending;            /* in finish(): nothing is persisted any more */
    double term_deadline;
    int takeover;          /* --takeover: the listening sockets come from the running daemon */
    int handover_fd;       /* --takeover: the connection to it, until it is told to retire */
    int old_pid;           /* --takeover: the daemon taken over from, recovered after */
    int old_pidfd;
    claw_watch old_w;
    int handing_over;      /* the pid of a new daemon that took the sockets, until it retires us */
    int handed_over;       /* retired by a new daemon: its sockets, state and admin path */
    dev_t admin_dev;       /* the admin socket's file, unlinked at the end only if still ours */
    ino_t admin_ino;
    claw_runs *runs;       /* policy runs (API, schedules) and the recover at start */
    struct restore *retries; /* routes' containers to look up again (restore) */
    claw_metrics metrics;
    claw_httpd *httpd;     /* the HTTP API, when the config has `api:` */
    claw_api api;
    const char *exe;       /* clawengine, which the runs and the lookups start */
    uint64_t rng;          /* for schedules' jitter */
};

static int route_port(const daemon_t *d, const char *route)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(d->ports, route);
    return cJSON_IsNumber(p) ? p->valueint : 0;
}

/* What survives a restart: every route with its listeners, port and backends. Once
 * handed over, the state file is the new daemon's. */
static int save_state(daemon_t *d, claw_err *err)
{
    if (d->handing_over || d->handed_over)
        return 0;
    cJSON *routes = claw_proxy_list(d->p);
    cJSON *r;
    cJSON_ArrayForEach(r, routes) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
        cJSON_AddNumberToObject(r, "port", route_port(d, name));
        cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItem(r, "backends")) {
            static const char *const counters[] = { "active", "total", "connect_failures",
                "resets", "bytes_in", "bytes_out" }; /* the address is kept: a restart
                                                     * serves at once with it */
            for (size_t i = 0; i < sizeof counters / sizeof *counters; i++)
                cJSON_DeleteItemFromObject(b, counters[i]);
        }
        cJSON_DeleteItemFromObject(r, "no_backend");
        static const char *const pause[] = { "paused", "pauses", "held" };
        for (size_t i = 0; i < sizeof pause / sizeof *pause; i++) /* a pause ends with the daemon */
            cJSON_DeleteItemFromObject(r, pause[i]);
    }
    cJSON *state = cJSON_CreateObject();
    cJSON_AddNumberToObject(state, "version", 1);
    cJSON_AddItemToObject(state, "routes", routes);
    if (d->runs)
        cJSON_AddItemToObject(state, "runs", claw_runs_kept(d->runs));
    char *text = cJSON_Print(state);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", d->cfg.state);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = 0;
    claw_err e;
    int rc = 0;
    if (!text || (slash && claw_make_dirs(dir, &e) != 0) ||
        claw_write_atomic(d->cfg.state, text, strlen(text), &e) != 0)
        rc = claw_fail(err, CLAW_E_IO, 0, "cannot save route state to %s: %s", d->cfg.state,
                       text ? e.message : "out of memory");
    free(text);
    cJSON_Delete(state);
    return rc;
}

/* After a change: a state that cannot be saved is logged (the change holds until a
 * restart); at start it stops the daemon (start). */
static void persist(daemon_t *d)
{
    claw_err err;
    if (d->ending) /* the routes are being freed, not removed: the state stays as it is */
        return;
    if (save_state(d, &err) != 0)
        claw_log_printf(d->log, CLAW_LOG_ERROR, "%s", err.message);
}

static const cJSON *state_route(const cJSON *state, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(state, "routes")) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
        if (n && strcmp(n, name) == 0)
            return r;
    }
    return NULL;
}

/* ---- backends restored at start and on reload ---- */

/* A backend of the state or the config whose address a lookup brings: a new one
 * (known = 0), or one that serves already at its saved address (known = 1: a reboot
 * may have given its container another IP). The container a route of the config
 * names, when it does not exist yet or Docker does not answer, is looked up again
 * (1 s, doubling, at most every 30 s) while its route has no backend. */
typedef struct restore {
    daemon_t *d;
    char route[128], container[128];
    int weight, draining, known, at_start;
    int from_config;       /* the route's container in the config: looked up again */
    double again;          /* the wait before the next lookup, seconds */
    double due;            /* monotonic, while waiting in d->retries */
    struct restore *next;
} restore;

#define RETRY_FIRST 1.0
#define RETRY_MAX 30.0

static void announce(daemon_t *d);

/* While a route has no backend yet (a first start, a route a reload adds), the
 * connections it accepts wait for the lookups of its containers, as during a pause
 * (holder "lookup"), instead of being closed at once: a slow Docker then delays the
 * first clients, and fails none. The first of its lookups to end, found or not, ends
 * the hold; its deadline is theirs. */
#define LOOKUP_HOLDER "lookup"

static void hold_for_lookups(daemon_t *d, const char *route)
{
    claw_err err;
    if (claw_proxy_backend_count(d->p, route) == 0)
        claw_proxy_pause(d->p, route, LOOKUP_HOLDER, CLAW_LOOKUP_TIMEOUT + 1, &err);
}

static void end_lookup_hold(daemon_t *d, const char *route)
{
    claw_err err;
    if (claw_proxy_paused_by(d->p, route, LOOKUP_HOLDER))
        claw_proxy_resume(d->p, route, LOOKUP_HOLDER, &err);
}

static void restored(daemon_t *d, restore *r, const struct sockaddr *addr, socklen_t len)
{
    claw_err err;
    char where[128];
    claw_format_addr(addr, where, sizeof where);
    int rc = 0;
    if (claw_proxy_has_backend(d->p, r->route, r->container)) {
        rc = claw_proxy_backend_address(d->p, r->route, r->container, addr, len, &err);
        if (rc > 0)
            claw_log_printf(d->log, CLAW_LOG_INFO, "route %s: backend %s is at %s now", r->route,
                            r->container, where);
    } else if (!r->known && !(r->again > 0 && claw_proxy_backend_count(d->p, r->route) > 0)) {
        /* (a container looked up again is added while its route still has no backend) */
        rc = claw_proxy_backend(d->p, r->route, r->container, addr, len, r->weight, &err);
        if (rc == 0 && r->draining)
            claw_proxy_drain(d->p, r->route, r->container, 0, NULL, NULL, &err);
        rc = rc == 0 ? 1 : -1;
    }
    if (rc < 0)
        claw_log_printf(d->log, CLAW_LOG_WARN, "route %s: backend %s left out: %s", r->route,
                        r->container, err.message);
    else if (rc > 0)
        persist(d);
}

static void on_restored(void *ud, const struct sockaddr *addr, socklen_t len, const claw_err *e)
{
    restore *r = ud;
    daemon_t *d = r->d;
    if (addr)
        restored(d, r, addr, len);
    end_lookup_hold(d, r->route); /* what it held goes to the backend just added, or is closed */
    if (addr) {
        if (r->again > 0)
            claw_log_printf(d->log, CLAW_LOG_INFO, "route %s: backend %s found; serving", r->route,
                            r->container);
    } else if (strcmp(e->code, CLAW_E_INTERRUPTED) == 0) {
        ; /* the daemon stops */
    } else if (r->known && strcmp(e->code, CLAW_E_NOT_FOUND) != 0) {
        /* Docker did not answer: the saved address is the best there is. */
        claw_log_printf(d->log, CLAW_LOG_WARN, "route %s: backend %s stays at its saved address: %s",
                        r->route, r->container, e->message);
    } else {
        claw_err err;
        if (r->known && claw_proxy_backend_remove(d->p, r->route, r->container, &err) == 0)
            persist(d);
        int again = r->from_config && !d->terminating &&
                    claw_proxy_backend_count(d->p, r->route) == 0;
        if (!again || r->again == 0)
            claw_log_printf(d->log, CLAW_LOG_WARN, "route %s: backend %s left out: %s%s", r->route,
                            r->container, e->message,
                            again ? "; looked up again until it exists" : "");
        if (again) {
            int at_start = r->at_start;
            r->again = r->again == 0 ? RETRY_FIRST : r->again * 2 > RETRY_MAX ? RETRY_MAX : r->again * 2;
            r->due = claw_clock_monotonic() + r->again;
            r->at_start = 0;
            r->known = 0; /* a saved backend that was left out is added anew */
            r->next = d->retries;
            d->retries = r;
            if (at_start && --d->starting == 0)
                announce(d);
            return;
        }
    }
    if (r->at_start && --d->starting == 0 && strcmp(e ? e->code : "", CLAW_E_INTERRUPTED) != 0)
        announce(d);
    free(r);
}

/* Looks up again the routes' containers that are due; returns the seconds until the
 * next one is (< 0: none). A route that got a backend otherwise, or is gone, stops
 * waiting. */
static double retry_tick(daemon_t *d)
{
    double now = claw_clock_monotonic(), next = -1;
    for (restore **rp = &d->retries; *rp;) {
        restore *r = *rp;
        int wanted = !d->terminating && route_port(d, r->route) > 0 &&
                     claw_proxy_backend_count(d->p, r->route) == 0;
        if (wanted && r->due > now) {
            next = next < 0 || r->due - now < next ? r->due - now : next;
            rp = &r->next;
            continue;
        }
        *rp = r->next;
        claw_err err;
        if (!wanted || claw_lookup(d->lookups, r->container, route_port(d, r->route), on_restored, r,
                                   &err) != 0)
            free(r);
    }
    return next;
}

static void ask_restore(daemon_t *d, const char *route, const char *container, int weight,
                        int draining, int known, int from_config)
{
    restore *r = calloc(1, sizeof *r);
    claw_err err;
    if (!r)
        return;
    *r = (restore){ .d = d, .weight = weight, .draining = draining, .known = known,
                    .at_start = !known && !d->announced, .from_config = from_config };
    snprintf(r->route, sizeof r->route, "%s", route);
    snprintf(r->container, sizeof r->container, "%s", container);
    if (claw_lookup(d->lookups, container, route_port(d, route), on_restored, r, &err) != 0) {
        claw_log_printf(d->log, CLAW_LOG_WARN, "route %s: backend %s left out: %s", route,
                        container, err.message);
        free(r);
        return;
    }
    d->starting += r->at_start;
    d->lookups_asked++;
}

/* A backend of the state: it serves at once at its saved address, which a lookup
 * then checks; without one (a state older than saved addresses) it waits for it. */
static int restore_saved(daemon_t *d, const char *route, const cJSON *b, const char *config_container)
{
    const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(b, "container"));
    const char *addr = cJSON_GetStringValue(cJSON_GetObjectItem(b, "address"));
    const cJSON *w = cJSON_GetObjectItem(b, "weight");
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(b, "state"));
    int weight = cJSON_IsNumber(w) ? w->valueint : 0, draining = st && strcmp(st, "draining") == 0;
    if (!c) {
        claw_log_printf(d->log, CLAW_LOG_WARN, "route %s: backend ? left out: "
                        "no container name in the state", route);
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    claw_err err;
    int known = addr && claw_parse_addr(addr, &ss, &len, &err) == 0 &&
                claw_proxy_backend(d->p, route, c, (struct sockaddr *)&ss, len, weight, &err) == 0;
    if (known && draining)
        claw_proxy_drain(d->p, route, c, 0, NULL, NULL, &err);
    ask_restore(d, route, c, weight, draining, known,
                config_container && strcmp(c, config_container) == 0);
    return 1;
}

static void restore_backends(daemon_t *d, const char *route, const cJSON *sr,
                             const char *dflt_container)
{
    const cJSON *b;
    int n = 0;
    long asked = d->lookups_asked;
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(sr, "backends"))
        n += restore_saved(d, route, b, dflt_container);
    if (n == 0 && dflt_container)
        ask_restore(d, route, dflt_container, 100, 0, 0, 1);
    if (d->lookups_asked > asked)
        hold_for_lookups(d, route);
}

static int listen_list(const cJSON *arr, const char **out, int max)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (n < max && cJSON_IsString(e))
            out[n++] = e->valuestring;
    }
    return n;
}

static int setup_route(daemon_t *d, const char *name, const cJSON *listen, int port, int sticky,
                       claw_err *err)
{
    const char *addrs[CLAW_MAX_LISTEN];
    int n = listen_list(listen, addrs, CLAW_MAX_LISTEN);
    if (claw_proxy_route(d->p, name, addrs, n, sticky, err) != 0)
        return -1;
    cJSON_DeleteItemFromObject(d->ports, name);
    cJSON_AddNumberToObject(d->ports, name, port);
    return 0;
}

/* Routes from the config, then routes only the state knows (made with `create`). */
static int setup_routes(daemon_t *d, const cJSON *state, claw_err *err)
{
    for (int i = 0; i < d->cfg.nroutes; i++) {
        cfg_route *r = &d->cfg.routes[i];
        if (setup_route(d, r->name, r->listen, r->port, r->sticky, err) != 0)
            return -1;
        restore_backends(d, r->name, state_route(state, r->name), r->container);
    }
    const cJSON *sr;
    cJSON_ArrayForEach(sr, cJSON_GetObjectItem(state, "routes")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(sr, "name"));
        const cJSON *port = cJSON_GetObjectItem(sr, "port");
        if (!name || !cJSON_IsNumber(port) || cJSON_GetObjectItem(d->ports, name))
            continue;
        claw_err rerr;
        if (setup_route(d, name, cJSON_GetObjectItem(sr, "listen"), port->valueint,
                        cJSON_IsTrue(cJSON_GetObjectItem(sr, "sticky")), &rerr) != 0) {
            claw_log_printf(d->log, CLAW_LOG_WARN, "route %s left out: %s", name, rerr.message);
            continue;
        }
        restore_backends(d, name, sr, NULL);
    }
    return 0;
}

static cJSON *read_state(daemon_t *d)
{
    FILE *f = fopen(d->cfg.state, "rb");
    if (!f)
        return NULL;
    claw_buf b;
    claw_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        claw_buf_add(&b, chunk, n);
    fclose(f);
    cJSON *s = b.data ? cJSON_Parse(b.data) : NULL;
    if (!s)
        claw_log_printf(d->log, CLAW_LOG_WARN, "route state %s is unreadable; starting from the config",
                        d->cfg.state);
    claw_buf_free(&b);
    return s;
}

static cJSON *schedules_json(daemon_t *d);

/* ---- admin socket ---- */

static void reclaim_admin(daemon_t *d);

static void client_close(daemon_t *d, admin_client *c)
{
    if (c->handover && !d->handed_over && !d->terminating) {
        d->handing_over = 0;
        claw_log_printf(d->log, CLAW_LOG_WARN,
                        "handover: pid %d went away without taking over; serving on", c->handover);
        reclaim_admin(d);
    }
    if (c->waiting)
        c->waiting->client = NULL; /* the drain goes on; nobody hears its end */
    admin_client **cp = &d->clients;
    while (*cp && *cp != c)
        cp = &(*cp)->next;
    if (*cp)
        *cp = c->next;
    claw_proxy_unwatch(d->p, c->fd);
    close(c->fd);
    c->fd = -1;
    claw_buf_free(&c->in);
    claw_proxy_defer_free(d->p, c);
}

static void reply(admin_client *c, cJSON *answer)
{
    char *text = cJSON_PrintUnformatted(answer);
    cJSON_Delete(answer);
    if (!text)
        return;
    size_t len = strlen(text), off = 0;
    text[len] = '\n'; /* replaces the NUL: the line ends with a newline */
    while (off <= len) {
        ssize_t n = send(c->fd, text + off, len + 1 - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            /* A client that does not read its answer gets a second, not the loop. */
            struct pollfd p = { .fd = c->fd, .events = POLLOUT };
            if (poll(&p, 1, 1000) <= 0)
                break;
        } else if (!(n < 0 && errno == EINTR)) {
            break;
        }
    }
    free(text);
}

static cJSON *ok_answer(void)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddBoolToObject(a, "ok", 1);
    return a;
}

static cJSON *error_answer(const claw_err *e)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddBoolToObject(a, "ok", 0);
    cJSON_AddStringToObject(a, "code", e->code);
    cJSON_AddStringToObject(a, "error", e->message);
    return a;
}

static void serve_lines(daemon_t *d, admin_client *c);

/* The answer of a command that waited: the client reads it, then its next commands
 * are carried out. */
static void answer_later(ticket *t, cJSON *answer)
{
    admin_client *c = t->client;
    claw_admin_req_free(&t->req);
    free(t);
    if (!c) {
        cJSON_Delete(answer);
        return;
    }
    c->waiting = NULL;
    reply(c, answer);
    serve_lines(c->d, c);
}

static void on_drained(void *ud, int forced)
{
    ticket *t = ud;
    cJSON *a;
    if (forced < 0) {
        claw_err err;
        claw_fail(&err, CLAW_E_CONFLICT, 0, "the drain of %s was ended: it was put back in service",
                  t->req.container);
        a = error_answer(&err);
    } else {
        a = ok_answer();
        cJSON_AddNumberToObject(a, "forced", forced);
    }
    persist(t->d);
    answer_later(t, a);
}

static cJSON *routes_json(daemon_t *d);

static cJSON *op_list(daemon_t *d)
{
    cJSON *a = ok_answer();
    cJSON_AddItemToObject(a, "routes", routes_json(d));
    return a;
}

static int new_route(daemon_t *d, const claw_admin_req *r, claw_err *err)
{
    return cJSON_GetObjectItem(d->ports, r->route)
               ? claw_fail(err, CLAW_E_CONFLICT, 0, "route \"%s\" exists already", r->route) : 0;
}

static int op_create(daemon_t *d, const claw_admin_req *r, const struct sockaddr *addr,
                     socklen_t len, claw_err *err)
{
    if (new_route(d, r, err) != 0 ||
        setup_route(d, r->route, r->listen, r->port, r->sticky > 0, err) != 0)
        return -1;
    if (claw_proxy_backend(d->p, r->route, r->container, addr, len, 100, err) != 0) {
        claw_proxy_route_remove(d->p, r->route, NULL);
        cJSON_DeleteItemFromObject(d->ports, r->route);
        return -1;
    }
    return 0;
}

static int known_route(daemon_t *d, const char *route, claw_err *err)
{
    return cJSON_GetObjectItem(d->ports, route)
               ? 0 : claw_fail(err, CLAW_E_NOT_FOUND, 0, "no route \"%s\"", route);
}

static int op_weight(daemon_t *d, const claw_admin_req *r, claw_err *err)
{
    const cJSON *e;
    if (known_route(d, r->route, err) != 0)
        return -1;
    cJSON_ArrayForEach(e, r->weights) { /* all or nothing */
        if (!claw_proxy_has_backend(d->p, r->route, e->string))
            return claw_fail(err, CLAW_E_NOT_FOUND, 0, "route \"%s\" has no backend \"%s\"",
                             r->route, e->string);
    }
    cJSON_ArrayForEach(e, r->weights)
        claw_proxy_weight(d->p, r->route, e->string, e->valueint, err);
    return r->sticky >= 0 ? claw_proxy_sticky(d->p, r->route, r->sticky, err) : 0;
}

static void done_log(daemon_t *d, const claw_admin_req *r)
{
    persist(d);
    const char *what = r->op == CLAW_ADMIN_SWITCH ? "switch" : r->op == CLAW_ADMIN_PAUSE ? "pause"
                       : r->op == CLAW_ADMIN_RESUME ? "resume" : "change";
    claw_log_printf(d->log, CLAW_LOG_INFO, "admin: %s %s%s%s done", what, r->route,
                    r->container[0] ? " " : "", r->container);
}

/* create, add and switch once the container's address is known. The route is
 * checked again: another command may have changed it meanwhile. */
static int with_address(daemon_t *d, const claw_admin_req *r, const struct sockaddr *addr,
                        socklen_t len, claw_err *err)
{
    if (r->op == CLAW_ADMIN_CREATE)
        return op_create(d, r, addr, len, err);
    if (known_route(d, r->route, err) != 0)
        return -1;
    if (r->op == CLAW_ADMIN_ADD)
        return claw_proxy_backend(d->p, r->route, r->container, addr, len, r->weight, err);
    if (!claw_proxy_has_backend(d->p, r->route, r->container) &&
        claw_proxy_backend(d->p, r->route, r->container, addr, len, 0, err) != 0)
        return -1;
    return claw_proxy_switch(d->p, r->route, r->container, err);
}

static void on_address(void *ud, const struct sockaddr *addr, socklen_t len, const claw_err *e)
{
    ticket *t = ud;
    claw_err err = { 0 };
    if (!addr)
        err = *e;
    if (!addr || with_address(t->d, &t->req, addr, len, &err) != 0) {
        answer_later(t, error_answer(&err));
        return;
    }
    done_log(t->d, &t->req);
    answer_later(t, ok_answer());
}

/* Asks where the container answers; the command goes on in on_address. The request
 * moves into the ticket. */
static cJSON *ask_address(daemon_t *d, admin_client *c, claw_admin_req *r)
{
    claw_err err;
    ticket *t = calloc(1, sizeof *t);
    if (!t) {
        claw_fail(&err, CLAW_E_IO, 0, "out of memory");
        return error_answer(&err);
    }
    int port = r->op == CLAW_ADMIN_CREATE ? r->port : route_port(d, r->route);
    if (claw_lookup(d->lookups, r->container, port, on_address, t, &err) != 0) {
        free(t);
        return error_answer(&err);
    }
    *t = (ticket){ .d = d, .client = c, .req = *r };
    r->weights = r->listen = NULL;
    c->waiting = t;
    return NULL;
}

static void begin_stop(daemon_t *d, const char *why);

/* A new daemon (--takeover) asks for the listening sockets: the answer names their
 * addresses and carries them (SCM_RIGHTS). This daemon serves on until told to retire
 * on the same connection, so a new daemon that fails to start changes nothing. */
static cJSON *op_handover(daemon_t *d, admin_client *c)
{
    int fds[CLAW_ADMIN_MAX_FDS];
    const char *addrs[CLAW_ADMIN_MAX_FDS];
    claw_err err;
    if (d->terminating) {
        claw_fail(&err, CLAW_E_CONFLICT, 0, "handover: this daemon is stopping");
        return error_answer(&err);
    }
    /* A backend whose address is being asked would change the routes after the new
     * daemon read them: it asks again in a moment. */
    if (claw_lookups_pending(d->lookups)) {
        claw_fail(&err, CLAW_E_BUSY, 0, "handover: backend addresses are being looked up");
        return error_answer(&err);
    }
    int n = claw_proxy_listeners(d->p, fds, addrs, CLAW_ADMIN_MAX_FDS);
    if (n <= CLAW_ADMIN_MAX_FDS)
        n += claw_httpd_listeners(d->httpd, fds + n, addrs + n, CLAW_ADMIN_MAX_FDS - n);
    if (n > CLAW_ADMIN_MAX_FDS) {
        claw_fail(&err, CLAW_E_INVALID, 0, "handover: %d listening sockets, at most %d pass", n,
                  CLAW_ADMIN_MAX_FDS);
        return error_answer(&err);
    }
    cJSON *a = ok_answer();
    cJSON_AddNumberToObject(a, "pid", (double)getpid());
    cJSON_AddItemToObject(a, "listen", cJSON_CreateStringArray(addrs, n));
    char *text = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    text[len] = '\n';
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof fds)];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { .iov_base = text, .iov_len = len + 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n > 0) {
        msg.msg_control = ctl.space;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)n);
    }
    struct ucred peer = { 0 };
    socklen_t plen = sizeof peer;
    getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen);
    if (sendmsg(c->fd, &msg, MSG_NOSIGNAL) == (ssize_t)(len + 1)) {
        c->handover = peer.pid > 0 ? (int)peer.pid : -1;
        d->handing_over = c->handover; /* from now on the routes are the new daemon's */
        claw_log_printf(d->log, CLAW_LOG_INFO, "handover: %d listening socket(s) passed to pid %d",
                        n, (int)peer.pid);
    } else {
        claw_log_printf(d->log, CLAW_LOG_WARN, "handover to pid %d failed: %s", (int)peer.pid,
                        strerror(errno));
    }
    free(text);
    return NULL;
}

/* The new daemon serves: this one stops as on SIGTERM, leaving the admin socket's
 * path and the state file to it. The listening sockets it closes stay open in the
 * new daemon, with the connections waiting in them. */
static void retire(daemon_t *d, admin_client *c)
{
    d->handed_over = 1;
    if (d->admin_fd >= 0) {
        claw_proxy_unwatch(d->p, d->admin_fd);
        close(d->admin_fd);
        d->admin_fd = -1;
    }
    char why[64];
    snprintf(why, sizeof why, "after the handover to pid %d", c->handover);
    begin_stop(d, why);
}

/* Carries out one command. NULL: the answer comes later (a drain, or a command that
 * waits for a container's address), or was sent already (handover, retire). */
static cJSON *execute(daemon_t *d, admin_client *c, claw_admin_req *r)
{
    claw_err err = { 0 };
    int rc = 0;
    if (d->handing_over && r->op != CLAW_ADMIN_LIST && r->op != CLAW_ADMIN_SCHEDULES &&
        r->op != CLAW_ADMIN_RETIRE) {
        /* The new daemon read the routes already: a change here would be lost. Its
         * client asks again, and reaches the new daemon once it answers the socket. */
        claw_fail(&err, CLAW_E_BUSY, 0, "this daemon is handing over to pid %d; ask again",
                  d->handing_over);
        return error_answer(&err);
    }
    switch (r->op) {
    case CLAW_ADMIN_LIST:
        return op_list(d);
    case CLAW_ADMIN_SCHEDULES: {
        cJSON *a = ok_answer();
        cJSON_AddItemToObject(a, "schedules", schedules_json(d));
        return a;
    }
    case CLAW_ADMIN_CREATE:
        if ((rc = new_route(d, r, &err)) == 0)
            return ask_address(d, c, r);
        break;
    case CLAW_ADMIN_DELETE:
        rc = claw_proxy_route_remove(d->p, r->route, &err);
        if (rc == 0)
            cJSON_DeleteItemFromObject(d->ports, r->route);
        break;
    case CLAW_ADMIN_ADD:
        if ((rc = known_route(d, r->route, &err)) == 0)
            return ask_address(d, c, r); /* also a known backend's: its IP may be new */
        break;
    case CLAW_ADMIN_WEIGHT:
        rc = op_weight(d, r, &err);
        break;
    case CLAW_ADMIN_SWITCH:
        rc = known_route(d, r->route, &err);
        if (rc == 0 && !claw_proxy_has_backend(d->p, r->route, r->container))
            return ask_address(d, c, r);
        if (rc == 0)
            rc = claw_proxy_switch(d->p, r->route, r->container, &err);
        break;
    case CLAW_ADMIN_DRAIN: {
        ticket *t = calloc(1, sizeof *t);
        if (!t) {
            claw_fail(&err, CLAW_E_IO, 0, "out of memory");
            return error_answer(&err);
        }
        t->d = d;
        t->client = c;
        rc = claw_proxy_drain(d->p, r->route, r->container,
                              r->timeout >= 0 ? r->timeout : d->cfg.drain_timeout, on_drained, t, &err);
        if (rc != 0) {
            free(t);
            break;
        }
        c->waiting = t;
        persist(d);
        return NULL;
    }
    case CLAW_ADMIN_REMOVE:
        rc = claw_proxy_backend_remove(d->p, r->route, r->container, &err);
        break;
    case CLAW_ADMIN_PAUSE:
    case CLAW_ADMIN_RESUME: {
        /* the answer says how many pauses the route has now */
        int n = r->op == CLAW_ADMIN_PAUSE
                    ? claw_proxy_pause(d->p, r->route, r->holder,
                                       r->timeout >= 0 ? r->timeout : CLAW_PAUSE_DEFAULT, &err)
                    : claw_proxy_resume(d->p, r->route, r->all ? NULL : r->holder, &err);
        if (n < 0)
            return error_answer(&err);
        done_log(d, r);
        cJSON *a = ok_answer();
        cJSON_AddNumberToObject(a, "pauses", n);
        return a;
    }
    case CLAW_ADMIN_RENAME:
        rc = claw_proxy_backend_rename(d->p, r->route, r->container, r->to, &err);
        break;
    case CLAW_ADMIN_HANDOVER:
        return op_handover(d, c);
    case CLAW_ADMIN_RETIRE:
        if (!c->handover) {
            claw_fail(&err, CLAW_E_INVALID, 0, "retire: only after a handover, on its connection");
            return error_answer(&err);
        }
        reply(c, ok_answer());
        retire(d, c);
        return NULL;
    }
    if (rc != 0)
        return error_answer(&err);
    done_log(d, r);
    return ok_answer();
}

static void on_client(claw_watch *w, unsigned events)
{
    admin_client *c = (admin_client *)w;
    daemon_t *d = c->d;
    if (c->fd < 0)
        return;
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            client_close(d, c);
        return;
    }
    (void)events;
    claw_buf_add(&c->in, buf, (size_t)n);
    serve_lines(d, c);
    if (c->in.len > CLAW_ADMIN_MAX_LINE) {
        claw_err err;
        claw_fail(&err, CLAW_E_INVALID, 0, "admin: command longer than %d bytes", CLAW_ADMIN_MAX_LINE);
        reply(c, error_answer(&err));
        client_close(d, c);
    }
}

/* The complete lines read so far, one command each, until one waits for its answer. */
static void serve_lines(daemon_t *d, admin_client *c)
{
    char *nl;
    while (!c->waiting && c->in.data && (nl = memchr(c->in.data, '\n', c->in.len))) {
        claw_admin_req r;
        claw_err err;
        cJSON *answer;
        if (claw_admin_parse(c->in.data, (size_t)(nl - c->in.data), &r, &err) != 0) {
            answer = error_answer(&err);
        } else {
            answer = execute(d, c, &r);
            claw_admin_req_free(&r);
        }
        claw_buf_drop(&c->in, (size_t)(nl - c->in.data) + 1);
        if (answer)
            reply(c, answer);
    }
}

static void on_admin(claw_watch *w, unsigned events)
{
    daemon_t *d = (daemon_t *)((char *)w - offsetof(daemon_t, admin_w));
    (void)events;
    int fd = accept4(d->admin_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    admin_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    *c = (admin_client){ .w.on_event = on_client, .fd = fd, .d = d, .next = d->clients };
    d->clients = c;
    claw_proxy_watch(d->p, fd, EPOLLIN, &c->w);
}

/* replace: take the path even when a daemon answers there (a takeover), with a rename
 * so that no client finds it missing. */
static int open_admin(daemon_t *d, int replace, claw_err *err)
{
    const char *path = d->cfg.admin;
    char dir[sizeof d->cfg.admin];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (claw_make_dirs(dir, err) != 0)
            return -1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* A socket file left by a daemon that died is in the way; a live one is not,
     * unless this daemon takes over from it. */
    if (fd >= 0 && !replace && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(fd);
        return claw_fail(err, CLAW_E_CONFLICT, 0,
                         "another clawengine daemon answers on %s", path);
    }
    size_t plen = strlen(sa.sun_path);
    int swap = replace && plen + sizeof ".new" <= sizeof sa.sun_path;
    if (swap)
        memcpy(sa.sun_path + plen, ".new", sizeof ".new");
    unlink(sa.sun_path);
    mode_t old = umask(0177); /* the socket is born 0600 */
    int rc = fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
             (swap && rename(sa.sun_path, path) != 0);
    umask(old);
    if (rc) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return claw_fail_errno(err, e, "cannot listen on the admin socket %s", path);
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        d->admin_dev = st.st_dev;
        d->admin_ino = st.st_ino;
    }
    d->admin_fd = fd;
    d->admin_w.on_event = on_admin;
    return claw_proxy_watch(d->p, fd, EPOLLIN, &d->admin_w);
}

/* Whether the admin socket's path is still this daemon's socket (a new daemon that
 * took over renamed its own over it). */
static int admin_path_ours(const daemon_t *d)
{
    struct stat st;
    return stat(d->cfg.admin, &st) == 0 && st.st_dev == d->admin_dev && st.st_ino == d->admin_ino;
}

/* A new daemon took the sockets and the admin path, then went away without retiring
 * this one: the path comes back here, so that this daemon can be reached again. */
static void reclaim_admin(daemon_t *d)
{
    if (d->admin_fd < 0 || admin_path_ours(d))
        return;
    claw_proxy_unwatch(d->p, d->admin_fd);
    close(d->admin_fd);
    d->admin_fd = -1;
    claw_err err;
    if (open_admin(d, 1, &err) != 0)
        claw_log_printf(d->log, CLAW_LOG_ERROR, "admin socket not reopened: %s", err.message);
    else
        claw_log_printf(d->log, CLAW_LOG_INFO, "admin socket %s is this daemon's again", d->cfg.admin);
}

/* ---- runs, schedules and the HTTP API ---- */

static double random_fraction(daemon_t *d)
{
    uint64_t x = d->rng; /* xorshift64: jitter only needs to spread hosts apart */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    d->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

static cJSON *routes_json(daemon_t *d)
{
    cJSON *routes = claw_proxy_list(d->p);
    cJSON *r;
    cJSON_ArrayForEach(r, routes)
        cJSON_AddNumberToObject(r, "port", route_port(d, cJSON_GetObjectItem(r, "name")->valuestring));
    return routes;
}

static cJSON *schedule_json(daemon_t *d, const claw_schedule *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "cron", s->expr);
    cJSON_AddStringToObject(o, "zone", claw_cron_zone(s->cron));
    cJSON_AddStringToObject(o, "policy", s->policy);
    cJSON_AddItemToObject(o, "args", cJSON_Duplicate(s->args, 1));
    cJSON_AddNumberToObject(o, "jitter", s->jitter);
    int64_t next[3];
    int n = claw_sched_upcoming(s, claw_clock_now(), next, 3);
    cJSON *a = cJSON_AddArrayToObject(o, "next");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)next[i]));
    if (s->start_at > 0)
        cJSON_AddNumberToObject(o, "next_start", s->start_at);
    else
        cJSON_AddNullToObject(o, "next_start");
    cJSON_AddNumberToObject(o, "skipped", (double)s->skipped);
    unsigned long running = claw_runs_running(d->runs, s->name);
    if (running)
        cJSON_AddNumberToObject(o, "running", (double)running);
    else
        cJSON_AddFalseToObject(o, "running");
    const cJSON *last = claw_runs_last(d->runs, s->name);
    cJSON_AddItemToObject(o, "last_run", last ? cJSON_Duplicate(last, 1) : cJSON_CreateNull());
    return o;
}

static cJSON *schedules_json(daemon_t *d)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < d->cfg.nsched; i++)
        cJSON_AddItemToArray(a, schedule_json(d, &d->cfg.sched[i]));
    return a;
}

static cJSON *api_status(void *ud)
{
    daemon_t *d = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", CLAW_VERSION);
    cJSON_AddNumberToObject(o, "started", d->metrics.start_time);
    cJSON_AddBoolToObject(o, "stopping", d->terminating);
    cJSON_AddItemToObject(o, "routes", routes_json(d));
    cJSON_AddItemToObject(o, "running", claw_runs_active(d->runs));
    cJSON_AddItemToObject(o, "runs", claw_runs_kept(d->runs));
    cJSON_AddItemToObject(o, "schedules", schedules_json(d));
    cJSON *u = cJSON_AddObjectToObject(o, "update");
    if (d->cfg.api.update_policy[0]) {
        cJSON_AddStringToObject(u, "policy", d->cfg.api.update_policy);
        cJSON_AddItemToObject(u, "args", cJSON_Duplicate(d->cfg.api.update_args, 1));
    } else {
        cJSON_AddNullToObject(u, "policy");
    }
    return o;
}

static void api_metrics(void *ud, claw_buf *out)
{
    daemon_t *d = ud;
    claw_metrics_schedule *sched = calloc((size_t)d->cfg.nsched + 1, sizeof *sched);
    if (!sched)
        return;
    for (int i = 0; i < d->cfg.nsched; i++) {
        const claw_schedule *s = &d->cfg.sched[i];
        sched[i] = (claw_metrics_schedule){ .name = s->name, .skipped = s->skipped,
                                            .next = s->start_at,
                                            .running = claw_runs_running(d->runs, s->name) != 0 };
    }
    cJSON *routes = claw_proxy_list(d->p);
    claw_metrics_render(out, &d->metrics, routes, sched, d->cfg.nsched, claw_runs_count(d->runs, 1));
    cJSON_Delete(routes);
    free(sched);
}

static int api_update(void *ud, const char *const *targets, unsigned long *id,
                      unsigned long *running, claw_err *err)
{
    daemon_t *d = ud;
    const claw_api_cfg *a = &d->cfg.api;
    if (!a->update_policy[0])
        return claw_fail(err, CLAW_E_NOT_FOUND, 0,
                         "no update policy is configured (api.update.policy in the daemon's config)");
    if ((*running = claw_runs_running(d->runs, "update")))
        return claw_fail(err, CLAW_E_CONFLICT, 0, "an update run is going on already (run %lu)", *running);
    claw_run_spec spec = { .name = "update", .trigger = CLAW_TRIGGER_API, .policy = a->update_policy,
                           .args = a->update_args, .targets = targets, .timeout = a->update_timeout,
                           .record = 1 };
    claw_err serr;
    if (claw_runs_start(d->runs, &spec, id, &serr) == 0)
        return 0;
    claw_log_printf(d->log, CLAW_LOG_ERROR, "api: update run not started: %s", serr.message);
    return claw_fail(err, CLAW_E_IO, 0, "the update run could not be started: %s", serr.message);
}

static int api_stopping(void *ud)
{
    return ((daemon_t *)ud)->terminating;
}

/* A schedule's time has come: its run starts, unless the previous one still goes. */
static void fire(daemon_t *d, claw_schedule *s)
{
    unsigned long running = claw_runs_running(d->runs, s->name);
    if (running) {
        s->skipped++;
        claw_log_printf(d->log, CLAW_LOG_WARN,
                        "schedule %s: skipped: run %s#%lu is still going (%lld skipped so far)",
                        s->name, s->name, running, s->skipped);
        return;
    }
    claw_run_spec spec = { .name = s->name, .trigger = CLAW_TRIGGER_SCHEDULE, .policy = s->policy,
                           .args = s->args, .timeout = s->timeout, .record = 1 };
    claw_err err;
    if (claw_runs_start(d->runs, &spec, NULL, &err) != 0)
        claw_log_printf(d->log, CLAW_LOG_ERROR, "schedule %s: run not started: %s", s->name,
                        err.message);
}

/* Starts what is due; returns the seconds until the next schedule is (< 0: none). */
static double sched_tick(daemon_t *d)
{
    double now = claw_clock_now(), next = -1;
    for (int i = 0; i < d->cfg.nsched; i++) {
        claw_schedule *s = &d->cfg.sched[i];
        if (!s->due || d->terminating)
            continue;
        if (now >= s->start_at) {
            fire(d, s);
            claw_sched_plan(s, now, random_fraction(d));
        }
        if (s->due && (next < 0 || s->start_at - now < next))
            next = s->start_at - now > 0 ? s->start_at - now : 0;
    }
    return next;
}

/* After a reload: a schedule kept by name keeps its count, and its next time when
 * its expression and jitter are the same. */
static void sched_carry(daemon_t *d, claw_schedule *fresh, int n)
{
    double now = claw_clock_now();
    for (int j = 0; j < n; j++) {
        claw_schedule *f = &fresh[j];
        claw_sched_plan(f, now, random_fraction(d));
        for (int i = 0; i < d->cfg.nsched; i++) {
            const claw_schedule *o = &d->cfg.sched[i];
            if (strcmp(o->name, f->name) != 0)
                continue;
            f->skipped = o->skipped;
            if (strcmp(o->expr, f->expr) == 0 && o->jitter == f->jitter) {
                f->due = o->due;
                f->start_at = o->start_at;
            }
        }
    }
}

static void on_run_end(void *ud, const cJSON *rec, int recorded)
{
    daemon_t *d = ud;
    if (recorded) {
        persist(d);
        return;
    }
    /* The recover at start: said as before, for operators who look for it. */
    const cJSON *code = cJSON_GetObjectItem(rec, "exit_code");
    int status = cJSON_IsNumber(code) ? code->valueint : 255;
    claw_log_printf(d->log, status == 0 ? CLAW_LOG_INFO : CLAW_LOG_WARN,
                    "recover of interrupted updates ended with status %d", status);
}

static int open_httpd(daemon_t *d, const claw_api_cfg *a, claw_httpd **out, claw_err *err)
{
    *out = claw_httpd_new(d->p, d->log, a->request_timeout, claw_api_handle, &d->api);
    if (!*out)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    const char *addrs[CLAW_MAX_LISTEN];
    int n = listen_list(a->listen, addrs, CLAW_MAX_LISTEN);
    if (claw_httpd_listen(*out, addrs, n, err) == 0)
        return 0;
    claw_httpd_free(*out);
    *out = NULL;
    return -1;
}

static int open_api(daemon_t *d, claw_err *err)
{
    /* cfg points into d->cfg, whose content a reload replaces in place. */
    d->api = (claw_api){ .hooks = { .ud = d, .status = api_status, .metrics = api_metrics,
                                    .update = api_update, .stopping = api_stopping },
                         .log = d->log, .cfg = &d->cfg.api };
    return d->cfg.api.enabled ? open_httpd(d, &d->cfg.api, &d->httpd, err) : 0;
}

/* A reload may move the API: the old addresses are closed only once the new ones
 * listen, so a typo keeps the API where it was. */
static void reload_api(daemon_t *d, config *fresh)
{
    claw_api_cfg *a = &fresh->api;
    char *was = cJSON_PrintUnformatted(d->cfg.api.listen), *now = cJSON_PrintUnformatted(a->listen);
    int same = d->cfg.api.enabled == a->enabled && (!a->enabled || (was && now && strcmp(was, now) == 0));
    free(was);
    free(now);
    if (same) {
        if (d->httpd)
            claw_httpd_set_timeout(d->httpd, a->request_timeout);
        return;
    }
    claw_httpd *moved = NULL;
    claw_err err;
    if (a->enabled && open_httpd(d, a, &moved, &err) != 0 && d->httpd) {
        /* An address kept across the reload is still held by the old listeners:
         * close them, and try once more. */
        claw_httpd_free(d->httpd);
        d->httpd = NULL;
        if (open_httpd(d, a, &moved, &err) != 0) {
            claw_err back;
            if (open_httpd(d, &d->cfg.api, &d->httpd, &back) != 0)
                claw_log_printf(d->log, CLAW_LOG_ERROR, "reload: the API is off: %s", back.message);
        }
    }
    if (a->enabled && !moved) {
        claw_log_printf(d->log, CLAW_LOG_ERROR, "reload: the API stays where it was: %s", err.message);
        cJSON_Delete(a->listen);
        a->listen = cJSON_Duplicate(d->cfg.api.listen, 1);
        a->enabled = d->cfg.api.enabled;
        return;
    }
    claw_httpd_free(d->httpd);
    d->httpd = moved;
}

/* ---- signals ---- */

/* The config's log file, opened again (after a rotation) or at its new path; stderr
 * without one. A file that cannot be opened leaves the log where it was. */
static int open_log(daemon_t *d, const char *path, claw_err *err)
{
    FILE *f = NULL;
    if (path[0] && !(f = fopen(path, "ae"))) /* "e": not the policies' runs' descriptor */
        return claw_fail_errno(err, errno, "cannot open the log file %s", path);
    if (d->logfile)
        fclose(d->logfile);
    d->logfile = f;
    d->log->human = f ? f : d->stderr_log;
    d->log->tty = f ? 0 : d->stderr_tty;
    return 0;
}

/* What a reload does not change in a running route: said, not silently ignored. */
static void reload_notes(daemon_t *d, const config *fresh)
{
    if (strcmp(d->cfg.admin, fresh->admin) != 0)
        claw_log_printf(d->log, CLAW_LOG_WARN, "reload: admin: the admin socket moves at the next start "
                        "(it stays %s)", d->cfg.admin);
    for (int i = 0; i < d->cfg.nroutes; i++)
        for (int j = 0; j < fresh->nroutes; j++) {
            const cfg_route *a = &d->cfg.routes[i], *b = &fresh->routes[j];
            if (strcmp(a->name, b->name) != 0)
                continue;
            /* (said only when the running route does not have that container already) */
            if (strcmp(a->container, b->container) != 0 && !claw_proxy_has_backend(d->p, a->name, b->container))
                claw_log_printf(d->log, CLAW_LOG_WARN, "reload: routes.%s.container: a running route keeps "
                                "its backends (`clawengine route switch %s %s` moves it)", a->name, a->name,
                                b->container);
            if (a->port != b->port)
                claw_log_printf(d->log, CLAW_LOG_WARN, "reload: routes.%s.port: %d for backends added from "
                                "now on (`clawengine route add %s CONTAINER` finds one again)", a->name,
                                b->port, a->name);
        }
}

static void reload(daemon_t *d)
{
    config fresh;
    claw_err err;
    if (d->terminating || d->handing_over || d->handed_over) {
        claw_log_printf(d->log, CLAW_LOG_WARN, "reload ignored: this daemon is stopping");
        return;
    }
    if (load_config(d->config_path, &fresh, &err) != 0) {
        claw_log_printf(d->log, CLAW_LOG_ERROR, "reload refused, keeping the running config: %s",
                        err.message);
        return;
    }
    if (open_log(d, fresh.log, &err) != 0) {
        claw_log_printf(d->log, CLAW_LOG_ERROR, "reload: %s; logging on here", err.message);
        snprintf(fresh.log, sizeof fresh.log, "%s", d->cfg.log);
    }
    reload_notes(d, &fresh);
    for (int i = 0; i < d->cfg.nroutes; i++) { /* routes taken out of the config */
        int kept = 0;
        for (int j = 0; j < fresh.nroutes; j++)
            kept |= strcmp(d->cfg.routes[i].name, fresh.routes[j].name) == 0;
        if (!kept && claw_proxy_route_remove(d->p, d->cfg.routes[i].name, &err) == 0)
            cJSON_DeleteItemFromObject(d->ports, d->cfg.routes[i].name);
    }
    /* Addresses a route gives up are closed before any is opened, so that one can
     * move from a route to another. */
    for (int i = 0; i < d->cfg.nroutes; i++) {
        const cfg_route *old = &d->cfg.routes[i];
        for (int j = 0; j < fresh.nroutes; j++) {
            if (strcmp(old->name, fresh.routes[j].name) != 0)
                continue;
            const char *keep[CLAW_MAX_LISTEN];
            int n = 0;
            const cJSON *a, *b;
            cJSON_ArrayForEach(a, old->listen) {
                cJSON_ArrayForEach(b, fresh.routes[j].listen) {
                    if (n < CLAW_MAX_LISTEN && strcmp(a->valuestring, b->valuestring) == 0)
                        keep[n++] = a->valuestring;
                }
            }
            claw_proxy_route(d->p, old->name, keep, n, old->sticky, &err);
        }
    }
    for (int j = 0; j < fresh.nroutes; j++) {
        cfg_route *r = &fresh.routes[j];
        int known = cJSON_GetObjectItem(d->ports, r->name) != NULL;
        if (setup_route(d, r->name, r->listen, r->port, r->sticky, &err) != 0)
            claw_log_printf(d->log, CLAW_LOG_ERROR, "reload: %s", err.message);
        else if (!known)
            restore_backends(d, r->name, NULL, r->container);
    }
    reload_api(d, &fresh);
    sched_carry(d, fresh.sched, fresh.nsched);
    config_free(&d->cfg);
    d->cfg = fresh;
    persist(d);
    claw_log_printf(d->log, CLAW_LOG_INFO, "config reloaded from %s", d->config_path);
}

/* No new connections, runs or schedules; open connections may finish until the
 * drain timeout. */
static void begin_stop(daemon_t *d, const char *why)
{
    if (d->terminating)
        return;
    d->terminating = 1;
    d->term_deadline = claw_clock_monotonic() + d->cfg.drain_timeout;
    claw_proxy_stop_listening(d->p);
    claw_httpd_stop_listening(d->httpd);
    claw_runs_terminate(d->runs); /* SIGTERM: policies unwind and exit 130 */
    claw_log_printf(d->log, CLAW_LOG_INFO, "stopping %s: %d connection(s) to finish", why,
                    claw_proxy_connections(d->p));
    if (claw_runs_count(d->runs, 0))
        claw_log_printf(d->log, CLAW_LOG_INFO, "stopping: %d run(s) to end",
                        claw_runs_count(d->runs, 0));
}

static void on_signal_fd(claw_watch *w, unsigned events)
{
    daemon_t *d = (daemon_t *)((char *)w - offsetof(daemon_t, sig_w));
    struct signalfd_siginfo si;
    (void)events;
    while (read(d->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(d);
        } else if (!d->terminating) {
            char why[64];
            snprintf(why, sizeof why, "on %s from pid %u",
                     si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", si.ssi_pid);
            begin_stop(d, why);
        } else {
            d->stop = 1; /* a second signal: stop now */
        }
    }
}

static int open_signals(daemon_t *d, claw_err *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL); /* children are watched through pidfds */
    d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sig_fd < 0)
        return claw_fail_errno(err, errno, "signalfd");
    d->sig_w.on_event = on_signal_fd;
    return claw_proxy_watch(d->p, d->sig_fd, EPOLLIN, &d->sig_w);
}

/* Updates interrupted by a crash or a reboot are finished or undone once the routes
 * serve again: `clawengine recover` runs beside the daemon and talks to it through
 * the admin socket. */
static void start_recover(daemon_t *d)
{
    cJSON *args = cJSON_CreateStringArray((const char *[]){ "recover", "--quiet" }, 2);
    claw_run_spec spec = { .name = "recover", .trigger = CLAW_TRIGGER_SCHEDULE, .args = args };
    claw_err err;
    if (claw_runs_start(d->runs, &spec, NULL, &err) != 0)
        claw_log_printf(d->log, CLAW_LOG_WARN, "recover of interrupted updates not started: %s",
                        err.message);
    cJSON_Delete(args);
}

static int open_runs(daemon_t *d, const cJSON *state, const char *docker_host, claw_err *err)
{
    char dir[4000], journal[4100];
    snprintf(journal, sizeof journal, "%s/runs.jsonl", claw_state_dir(dir, sizeof dir));
    claw_runs_opts o = { .loop = d->p, .log = d->log, .metrics = &d->metrics, .exe = d->exe,
                         .docker_host = docker_host,
                         .admin = d->cfg.admin, .journal = journal, .on_end = on_run_end, .ud = d };
    if (!(d->runs = claw_runs_new(&o)))
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    claw_runs_restore(d->runs, cJSON_GetObjectItem(state, "runs"));
    double now = claw_clock_now();
    for (int i = 0; i < d->cfg.nsched; i++)
        claw_sched_plan(&d->cfg.sched[i], now, random_fraction(d));
    return 0;
}

/* Two descriptors per proxied connection: take all the soft limit can give. */
static void raise_fd_limit(daemon_t *d)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096)
        claw_log_printf(d->log, CLAW_LOG_WARN,
                        "only %ld file descriptors: about %ld connections at once",
                        (long)rl.rlim_cur, (long)rl.rlim_cur / 2);
}

/* --takeover: the listening sockets of the daemon answering on the admin socket, so
 * that listening never stops. Without one there, the start is an ordinary one. */
static int take_sockets(daemon_t *d, claw_err *err)
{
    int fds[CLAW_ADMIN_MAX_FDS], n = 0;
    cJSON *answer = NULL;
    claw_err e;
    d->handover_fd = claw_admin_handover(d->cfg.admin, 5, fds, CLAW_ADMIN_MAX_FDS, &n, &answer, &e);
    if (d->handover_fd < 0) {
        if (strcmp(e.code, CLAW_E_UNREACHABLE) != 0) /* exit 1, not a config error */
            return claw_fail(err, CLAW_E_CONFLICT, 0, "takeover: %s", e.message);
        claw_log_printf(d->log, CLAW_LOG_INFO, "takeover: no daemon answers on %s; starting without one",
                        d->cfg.admin);
        return 0;
    }
    const cJSON *listen = cJSON_GetObjectItem(answer, "listen");
    for (int i = 0; i < n; i++) {
        const char *addr = cJSON_GetStringValue(cJSON_GetArrayItem(listen, i));
        claw_proxy_inherit(d->p, addr ? addr : "", fds[i]);
    }
    const cJSON *pid = cJSON_GetObjectItem(answer, "pid");
    d->old_pid = cJSON_IsNumber(pid) ? pid->valueint : 0;
    claw_log_printf(d->log, CLAW_LOG_INFO, "takeover: %d listening socket(s) from pid %d", n,
                    d->old_pid);
    cJSON_Delete(answer);
    return 0;
}

/* The daemon taken over from has exited: the updates its runs left halfway (their
 * journals were still locked when this daemon's recover ran at start) are recovered. */
static void on_old_gone(claw_watch *w, unsigned events)
{
    daemon_t *d = (daemon_t *)((char *)w - offsetof(daemon_t, old_w));
    (void)events;
    claw_proxy_unwatch(d->p, d->old_pidfd);
    close(d->old_pidfd);
    d->old_pidfd = -1;
    claw_log_printf(d->log, CLAW_LOG_INFO, "takeover: pid %d has stopped", d->old_pid);
    if (!d->terminating)
        start_recover(d);
}

/* This daemon listens and answers the admin socket: the old one stops. */
static void end_takeover(daemon_t *d)
{
    int unused = claw_proxy_inherited_close(d->p);
    if (unused)
        claw_log_printf(d->log, CLAW_LOG_INFO,
                        "takeover: %d listening socket(s) the config no longer has closed", unused);
    if (d->handover_fd < 0)
        return;
    claw_err e;
    int rc = claw_admin_retire(d->handover_fd, 5, &e);
    d->handover_fd = -1;
    if (rc != 0) {
        claw_log_printf(d->log, CLAW_LOG_WARN, "takeover: the old daemon was not told to stop: %s",
                        e.message);
        return;
    }
    d->old_pidfd = d->old_pid > 0 ? (int)syscall(SYS_pidfd_open, d->old_pid, 0) : -1;
    d->old_w.on_event = on_old_gone;
    if (d->old_pidfd >= 0 && claw_proxy_watch(d->p, d->old_pidfd, EPOLLIN, &d->old_w) != 0) {
        close(d->old_pidfd);
        d->old_pidfd = -1;
    }
}

static int start(daemon_t *d, const char *docker_host, claw_err *err)
{
    raise_fd_limit(d);
    if (!(d->p = claw_proxy_new(d->log, d->cfg.idle_timeout)))
        return claw_fail_errno(err, errno, "epoll_create1");
    if (!(d->lookups = claw_lookups_new(d->p, d->exe, docker_host)))
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    d->ports = cJSON_CreateObject();
    /* Taking over, the admin socket is replaced last: until this daemon serves, the
     * old one is the one to talk to, and it serves on if this start fails. */
    if (open_signals(d, err) != 0 || (d->takeover ? take_sockets(d, err) : open_admin(d, 0, err)) != 0)
        return -1;
    cJSON *state = read_state(d);
    int rc = open_runs(d, state, docker_host, err);
    if (rc == 0)
        rc = open_api(d, err);
    if (rc == 0)
        rc = setup_routes(d, state, err);
    cJSON_Delete(state);
    if (rc == 0) /* a state it cannot keep: refused at once (before taking the admin path over) */
        rc = save_state(d, err);
    if (rc == 0 && d->takeover)
        rc = open_admin(d, 1, err);
    if (rc != 0)
        return -1;
    if (d->takeover)
        end_takeover(d);
    return 0;
}

static void finish(daemon_t *d)
{
    d->ending = 1;
    claw_runs_free(d->runs); /* what still runs is killed: the daemon's end is theirs */
    d->runs = NULL;
    claw_lookups_free(d->lookups); /* their clients hear so before they are closed */
    while (d->retries) {
        restore *r = d->retries;
        d->retries = r->next;
        free(r);
    }
    d->lookups = NULL;
    claw_httpd_free(d->httpd);
    while (d->clients)
        client_close(d, d->clients);
    if (d->admin_fd > 0) {
        if (admin_path_ours(d)) /* else a new daemon's, which took over */
            unlink(d->cfg.admin);
        close(d->admin_fd);
    }
    if (d->handover_fd >= 0)
        close(d->handover_fd); /* a start that failed: the old daemon serves on */
    if (d->old_pidfd >= 0)
        close(d->old_pidfd);
    if (d->sig_fd > 0)
        close(d->sig_fd);
    claw_proxy_free(d->p);
    cJSON_Delete(d->ports);
    config_free(&d->cfg);
}

static void log_api(daemon_t *d)
{
    if (d->cfg.api.enabled) {
        char *where = cJSON_PrintUnformatted(d->cfg.api.listen);
        claw_log_printf(d->log, CLAW_LOG_INFO, "HTTP API on %s%s", where ? where : "?",
                        d->cfg.api.healthz ? "; /healthz without a token" : "");
        free(where);
    }
    for (int i = 0; i < d->cfg.nsched; i++) {
        const claw_schedule *s = &d->cfg.sched[i];
        claw_log_printf(d->log, CLAW_LOG_INFO, "schedule %s: \"%s\" runs %s; next in %.0f s",
                        s->name, s->expr, s->policy, s->start_at - claw_clock_now());
    }
}

static double sooner(double a, double b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Time-driven work (request deadlines, run timeouts, schedules), done between loop
 * passes; returns how long the loop may sleep. At most a minute, so that a change
 * of the wall clock is noticed by the schedules soon enough. */
static double next_wake(daemon_t *d)
{
    double wait = sooner(claw_httpd_tick(d->httpd), claw_runs_tick(d->runs));
    wait = sooner(wait, retry_tick(d)); /* first: a lookup it starts has a deadline */
    wait = sooner(wait, claw_lookups_tick(d->lookups));
    wait = sooner(wait, sched_tick(d));
    return sooner(wait, d->terminating ? 0.1 : 60);
}

/* The routes serve (those restored with a saved address did from the start; the
 * others once their first lookup ended): said once, then the recover starts. */
static void announce(daemon_t *d)
{
    d->announced = 1;
    claw_log_printf(d->log, CLAW_LOG_INFO,
                    "features: epoll (edge-triggered for connections), accept4, TCP_NODELAY, "
                    "SCM_RIGHTS (--takeover); "
                    "bytes copied through one 64 KiB buffer (no splice: for request-sized "
                    "messages two read/write calls beat four splice calls and a pipe)");
    claw_log_printf(d->log, CLAW_LOG_INFO, "serving %d route(s) %.1f ms after start; admin socket %s",
                    d->cfg.nroutes, (claw_clock_monotonic() - d->t0) * 1000, d->cfg.admin);
    log_api(d);
    start_recover(d);
}

int claw_daemon_run(const char *config_path, const char *docker_host, const char *exe,
                    int takeover, claw_log *log, claw_err *err)
{
    daemon_t d = { .config_path = config_path, .exe = exe, .log = log, .admin_fd = -1,
                   .sig_fd = -1, .t0 = claw_clock_monotonic(), .takeover = takeover,
                   .handover_fd = -1, .old_pidfd = -1 };
    d.metrics.start_time = claw_clock_now();
    d.rng = (uint64_t)(d.metrics.start_time * 1e6) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    if (load_config(config_path, &d.cfg, err) != 0)
        return -1;
    claw_log flog = *log;
    d.log = &flog;
    d.stderr_log = log->human;
    d.stderr_tty = log->tty;
    if (open_log(&d, d.cfg.log, err) != 0) {
        config_free(&d.cfg);
        return -1;
    }
    int rc = start(&d, docker_host, err);
    if (rc != 0 && d.logfile) /* stderr has it too: the caller prints it */
        claw_log_printf(d.log, CLAW_LOG_ERROR, "not started%s: %s",
                        d.handover_fd >= 0 ? " (the takeover is abandoned: the old daemon serves on)" : "",
                        err->message);
    if (rc == 0 && d.starting == 0)
        announce(&d);
    while (rc == 0 && !d.stop) {
        rc = claw_proxy_step(d.p, next_wake(&d), err);
        if (d.terminating && ((claw_proxy_connections(d.p) == 0 && claw_runs_count(d.runs, 0) == 0) ||
                              claw_clock_monotonic() >= d.term_deadline))
            d.stop = 1;
    }
    if (d.terminating)
        claw_log_printf(d.log, CLAW_LOG_INFO, "stopped; %d connection(s) cut at the deadline",
                        d.p ? claw_proxy_connections(d.p) : 0);
    finish(&d);
    if (d.logfile)
        fclose(d.logfile);
    return rc;
}
