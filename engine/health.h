/* Health probes: is a backend answering as it should? One attempt (claw_probe_once)
 * or a wait with Docker's healthcheck meanings (claw_probe_wait). Used by policies
 * (claw.health) and by the daemon to see a new backend become ready, so a wait looks
 * often (every 0.1 s by default), a refused connection fails at once instead of
 * after a timeout, and every wait ends at once on an interrupt (the cancel pipe). */
#ifndef CLAW_HEALTH_H
#define CLAW_HEALTH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cancel.h"
#include "docker.h"
#include "err.h"
#include "http.h"

/* What probes run with; the caller owns all three. http is needed by "http"
 * probes, docker by "docker" and "exec" probes; either may be NULL otherwise. */
typedef struct claw_probe_ctx {
    claw_http *http;   /* made with the same cancel: its connection is reused */
    claw_docker *docker;
    const claw_cancel *cancel;
} claw_probe_ctx;

typedef struct claw_probe {
    const char *kind;        /* "http", "tcp", "docker" or "exec" */
    const char *target;      /* http: URL; tcp: "host:port" ("[v6]:port");
                                docker, exec: the container */
    const char *const *argv; /* exec: the command, NULL-terminated */
    int expect_status;       /* http: the status wanted; 0 means any 2xx */
    const cJSON *expect;     /* http: an object of fields the JSON answer must hold
                                with equal values; "a.b" or nested objects reach
                                into the answer, "items.0" into arrays */
    double timeout;          /* one attempt, in seconds; 0 means 2 s */
} claw_probe;

/* One attempt. 0 when it passes; else -1 with err:
 *   unhealthy   it answered wrongly, refused the connection or is not running;
 *               the message says why ("GET URL: status 503, want 200")
 *   timeout     no answer within p->timeout
 *   invalid     a bad probe (URL, address, no healthcheck on the container)
 *   not_found   no such container
 *   unreachable the Docker daemon cannot be reached
 *   interrupted SIGINT/SIGTERM
 * On success *body (when body is not NULL) receives the JSON object or array an
 * HTTP probe answered with (the caller frees it), else NULL. */
int claw_probe_once(const claw_probe_ctx *cx, const claw_probe *p, cJSON **body,
                    claw_err *err);

/* How long to wait, with Docker's healthcheck meanings. */
typedef struct claw_probe_wait_opts {
    double interval;     /* from the start of one attempt to the next; 0: 0.1 s */
    int retries;         /* failures in a row (after start_period) that end the wait
                            as unhealthy; 0: no limit, only the timeout ends it */
    double start_period; /* failures in the first seconds do not count */
    double timeout;      /* for the whole wait; 0: none */
} claw_probe_wait_opts;

/* Attempts until one passes (0, *body as for claw_probe_once). Fails with the last
 * attempt's reason: unhealthy after `retries` failures in a row ("<reason> (3
 * failures in a row)"), timeout when the deadline passes ("not healthy within 5 s:
 * <reason>"), and at once for invalid, not_found, unreachable and interrupted.
 * *elapsed (when not NULL) receives the seconds spent, in every case. */
int claw_probe_wait(const claw_probe_ctx *cx, const claw_probe *p,
                    const claw_probe_wait_opts *w, cJSON **body, double *elapsed,
                    claw_err *err);

/* Whether body holds every field of expect (see claw_probe.expect): 0, or -1 with
 * unhealthy and the first difference: `field status is "starting", want "healthy"`,
 * `field a.b is missing, want 3`. */
int claw_probe_match(const cJSON *body, const cJSON *expect, claw_err *err);

/* Fills {host} and {port} in a URL or address template ("[host]" when host is an
 * IPv6 address). 0, or -1 with invalid: an unknown {placeholder}, {port} with port
 * 0, or no room in out. */
int claw_probe_url(const char *tmpl, const char *host, int port, char *out, size_t size,
                   claw_err *err);

/* Where to reach `port` of a container from this host, out of its inspect: its IP on
 * `network` (when not NULL), else on the first network that gives it one; else, when
 * it has none (network mode host, none), a host port it publishes (127.0.0.1 for a
 * binding on all addresses), or the port itself on 127.0.0.1 in network mode host.
 * port 0 means the lowest TCP port the container exposes. *port_out receives the
 * port to use. Errors: not_found (not running, not on that network, the port not
 * published), invalid (no port given and none exposed). */
int claw_container_address(const cJSON *inspect, int port, const char *network, char *host,
                           size_t size, int *port_out, claw_err *err);
/* The same, inspecting the container first. */
int claw_docker_address(claw_docker *d, const char *container, int port, const char *network,
                        char *host, size_t size, int *port_out, claw_err *err);

#endif
