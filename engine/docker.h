/* The Docker Engine API client. The API version is negotiated on first use (the
 * daemon's own version, capped at the newest one this client knows), never pinned,
 * so one binary talks to Docker 20.10 (API 1.41) and Docker 29 (1.44 and up). */
#ifndef CLAW_DOCKER_H
#define CLAW_DOCKER_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "buf.h"
#include "cancel.h"
#include "err.h"
#include "http.h"

#define CLAW_DOCKER_API_MAX_MINOR 51 /* 1.51 */

typedef struct claw_docker claw_docker;

/* host: "unix:///path", "tcp://host:port" (TLS when DOCKER_TLS_VERIFY is set, with
 * DOCKER_CERT_PATH), or NULL for $DOCKER_HOST, else unix:///var/run/docker.sock.
 * Nothing is contacted yet. */
claw_docker *claw_docker_new(const char *host, const claw_cancel *cancel, claw_err *err);
/* Whether host (NULL: $DOCKER_HOST, else the default socket) is one claw_docker_new
 * takes: unix:///path or tcp://host:port. */
int claw_docker_check_host(const char *host, claw_err *err);
void claw_docker_free(claw_docker *d);
const char *claw_docker_host(const claw_docker *d);
/* The negotiated API minor version (41 for "1.41"); negotiates when needed. */
int claw_docker_api_minor(claw_docker *d, claw_err *err);

/* One API call: path is relative to the versioned prefix ("/containers/json?all=1").
 * body may be NULL; *out (when out is not NULL) receives the parsed answer or NULL
 * when it was empty. Statuses >= 400 become errors: 404 not_found, 409 conflict,
 * others daemon, with the daemon's own message. 304 (already started/stopped) is
 * success. timeout 0 means none. */
int claw_docker_call(claw_docker *d, const char *method, const char *path,
                     const cJSON *body, double timeout, cJSON **out, claw_err *err);
/* The same with the raw answer, optionally streamed, with registry credentials. */
typedef struct claw_docker_req {
    const char *method, *path;
    const cJSON *body;
    double timeout;
    const char *registry_auth; /* X-Registry-Auth value (base64 JSON) or NULL */
    int (*on_data)(void *ud, const char *p, size_t n);
    void *ud;
} claw_docker_req;
int claw_docker_raw(claw_docker *d, const claw_docker_req *r, claw_http_resp *resp,
                    claw_err *err);

/* Sleeps, ending early (-1) on an interrupt. */
int claw_docker_sleep(claw_docker *d, double seconds);
/* Starts a streamed GET on a connection of its own (so other calls can go on
 * meanwhile): *http, *req and *url belong to the caller, who steps the transfer with
 * claw_http_step and frees them. */
int claw_docker_stream_begin(claw_docker *d, const char *path, claw_http **http,
                             claw_http_req *req, char **url,
                             int (*on_data)(void *, const char *, size_t), void *ud,
                             claw_http_resp *resp, claw_err *err);

/* Appends "<sep>filters=<escaped JSON>" to a query when filters has members. */
void claw_docker_add_filters(claw_buf *query, const char *sep, const cJSON *filters);

/* Percent-encodes s for a query value or a path segment (keeps / : @ when path). */
char *claw_docker_escape(const char *s, int path);

/* ---- operations (docker_ops.c) ---- */
int claw_docker_ping(claw_docker *d, claw_err *err);
cJSON *claw_docker_containers(claw_docker *d, int all, const cJSON *filters, claw_err *err);
cJSON *claw_docker_inspect(claw_docker *d, const char *id, claw_err *err);
cJSON *claw_docker_image(claw_docker *d, const char *ref, claw_err *err);
/* Image summaries (Docker's /images/json), filtered as Docker filters them. */
cJSON *claw_docker_images(claw_docker *d, const cJSON *filters, claw_err *err);
/* Pulls ref; progress lines go to `progress` when not NULL. Returns
 * {"id":..., "ref":..., "digest":..., "updated": bool}. */
cJSON *claw_docker_pull(claw_docker *d, const char *ref, const char *auth_b64,
                        FILE *progress, claw_err *err);
int claw_docker_tag(claw_docker *d, const char *src, const char *dst, claw_err *err);
int claw_docker_remove_image(claw_docker *d, const char *ref, int force, claw_err *err);
/* Creates from a Docker create body plus an optional "name" member; connects the
 * extra networks an old daemon cannot take in one call. Returns the new ID. */
char *claw_docker_create(claw_docker *d, const cJSON *spec, claw_err *err);
int claw_docker_start(claw_docker *d, const char *id, claw_err *err);
/* timeout < 0: the container's own stop timeout; signal NULL: its stop signal. */
int claw_docker_stop(claw_docker *d, const char *id, double timeout, const char *signal,
                     claw_err *err);
int claw_docker_kill(claw_docker *d, const char *id, const char *signal, claw_err *err);
int claw_docker_restart(claw_docker *d, const char *id, double timeout, claw_err *err);
int claw_docker_rename(claw_docker *d, const char *id, const char *name, claw_err *err);
/* Changes resources or the restart policy of a container (Docker's update body). */
int claw_docker_update(claw_docker *d, const char *id, const cJSON *body, claw_err *err);
int claw_docker_remove(claw_docker *d, const char *id, int force, int volumes,
                       claw_err *err);
/* Waits for the container to stop; *status gets its exit code. */
int claw_docker_wait(claw_docker *d, const char *id, double timeout, long *status,
                     claw_err *err);
/* Combined stdout and stderr, in order. tail < 0 means all. */
char *claw_docker_logs(claw_docker *d, const char *id, long tail, size_t *len,
                       claw_err *err);
/* Runs argv (a JSON array of strings) in the container: {"exit_code", "stdout",
 * "stderr"}. */
cJSON *claw_docker_exec(claw_docker *d, const char *id, const cJSON *argv, double timeout,
                        claw_err *err);
/* Waits until the container's health is "healthy". timeout <= 0: until the latest
 * Docker's verdict can come, start_period + retries x (interval + probe timeout),
 * plus one probe of slack.
 * Errors: unhealthy, exited, timeout, invalid (no healthcheck). */
int claw_docker_wait_healthy(claw_docker *d, const char *id, double timeout,
                             double interval, claw_err *err);

/* Events: a stream read one event at a time. */
typedef struct claw_events claw_events;
claw_events *claw_docker_events_open(claw_docker *d, const cJSON *filters, double since,
                                     double until, claw_err *err);
/* 1 and *ev set: an event; 0: none within `wait` seconds or the stream ended
 * (*ended set); -1: error. */
int claw_docker_events_next(claw_events *s, double wait, cJSON **ev, int *ended,
                            claw_err *err);
void claw_docker_events_close(claw_events *s);

#endif
