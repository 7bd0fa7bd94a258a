/* Waiting on containers: health gates and the event stream. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "docker.h"

static double hc_seconds(const cJSON *hc, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItem(hc, key);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? v->valuedouble / 1e9 : dflt;
}

/* The latest Docker's verdict can come, plus one probe: Docker starts a probe an
 * interval after the last one ended, and a probe may run for its whole timeout
 * (probes that run long are the rule on a busy host), so after the start period
 * `retries` failures take up to retries x (interval + timeout). */
static double default_deadline(const cJSON *hc)
{
    const cJSON *r = cJSON_GetObjectItem(hc, "Retries");
    double retries = cJSON_IsNumber(r) && r->valuedouble > 0 ? r->valuedouble : 3;
    double probe = hc_seconds(hc, "Interval", 30) + hc_seconds(hc, "Timeout", 30);
    return hc_seconds(hc, "StartPeriod", 0) + (retries + 1) * probe;
}

static const char *last_probe_output(const cJSON *health)
{
    const cJSON *log = cJSON_GetObjectItem(health, "Log");
    int n = cJSON_GetArraySize(log);
    const char *out = n ? cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, n - 1), "Output")) : NULL;
    return out && *out ? out : "no output";
}

/* One look at the container (`who` in messages): 1 healthy, 0 not yet, -1 a final
 * verdict in err. */
static int health_verdict(const cJSON *c, const char *who, double *deadline, double start,
                          claw_err *err)
{
    const cJSON *state = cJSON_GetObjectItem(c, "State");
    const cJSON *hc = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "Config"), "Healthcheck");
    const cJSON *test = cJSON_GetArrayItem(cJSON_GetObjectItem(hc, "Test"), 0);
    if (!hc || (cJSON_IsString(test) && strcmp(test->valuestring, "NONE") == 0))
        return claw_fail(err, CLAW_E_INVALID, 0, "container %s has no healthcheck", who);
    if (*deadline <= 0)
        *deadline = start + default_deadline(hc);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(state, "Running"))) {
        const cJSON *code = cJSON_GetObjectItem(state, "ExitCode");
        return claw_fail(err, CLAW_E_EXITED, 0, "container %s is not running (exit code %d)",
                         who, cJSON_IsNumber(code) ? code->valueint : -1);
    }
    const cJSON *health = cJSON_GetObjectItem(state, "Health");
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(health, "Status"));
    if (status && strcmp(status, "healthy") == 0)
        return 1;
    if (status && strcmp(status, "unhealthy") == 0) {
        char out[512]; /* the probe's last words, without the newline they end with */
        snprintf(out, sizeof out, "%s", last_probe_output(health));
        size_t n = strlen(out);
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
            out[--n] = 0;
        return claw_fail(err, CLAW_E_UNHEALTHY, 0, "container %s is unhealthy: %s", who, out);
    }
    return 0;
}

/* The container's events, to wake up the moment its health changes; NULL when the
 * stream cannot be opened (then the wait only polls). */
static claw_events *watch_container(claw_docker *d, const char *id)
{
    cJSON *filters = cJSON_CreateObject();
    cJSON_AddItemToObject(filters, "container", cJSON_CreateStringArray((const char *[]){ id }, 1));
    claw_err ignored;
    claw_events *ev = claw_docker_events_open(d, filters, 0, 0, &ignored);
    cJSON_Delete(filters);
    return ev;
}

int claw_docker_wait_healthy(claw_docker *d, const char *id, double timeout,
                             double interval, claw_err *err)
{
    double start = claw_clock_monotonic();
    double deadline = timeout > 0 ? start + timeout : 0;
    if (interval <= 0)
        interval = 0.1;
    /* Opened before the first look, so no change between the two is missed. */
    claw_events *ev = watch_container(d, id);
    char who[256]; /* the container's name in messages (it is waited for by ID) */
    snprintf(who, sizeof who, "%s", id);
    int rc;
    for (;;) {
        cJSON *c = claw_docker_inspect(d, id, err);
        if (!c) {
            rc = -1;
            break;
        }
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "Name"));
        if (name && *name)
            snprintf(who, sizeof who, "%s", name + (*name == '/'));
        int v = health_verdict(c, who, &deadline, start, err);
        cJSON_Delete(c);
        if (v != 0) {
            rc = v > 0 ? 0 : -1;
            break;
        }
        double left = deadline - claw_clock_monotonic();
        if (left <= 0) {
            rc = claw_fail(err, CLAW_E_TIMEOUT, 0, "container %s is not healthy after %.1f s", who,
                           claw_clock_monotonic() - start);
            break;
        }
        double wait = interval < left ? interval : left;
        cJSON *e = NULL;
        int ended = 0;
        claw_err werr;
        if (ev && claw_docker_events_next(ev, wait, &e, &ended, &werr) < 0) {
            if (strcmp(werr.code, CLAW_E_INTERRUPTED) == 0) {
                rc = claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
                break;
            }
            claw_docker_events_close(ev); /* the stream broke: poll from now on */
            ev = NULL;
        }
        /* Docker's own verdict, as it happened: no need for another look. */
        const char *action = cJSON_GetStringValue(cJSON_GetObjectItem(e, "Action"));
        int healthy = action && strcmp(action, "health_status: healthy") == 0;
        cJSON_Delete(e);
        if (healthy) {
            rc = 0;
            break;
        }
        if (ended) {
            claw_docker_events_close(ev);
            ev = NULL;
        }
        if (!ev && claw_docker_sleep(d, wait) != 0) {
            rc = claw_fail(err, CLAW_E_INTERRUPTED, 0, "interrupted");
            break;
        }
    }
    claw_docker_events_close(ev);
    return rc;
}

/* ---- events ---- */

struct claw_events {
    claw_http *http;
    claw_http_resp resp;
    claw_http_req req;
    claw_buf pending; /* bytes received, not yet a whole event */
    char *url;
    int ended;
};

static int events_data(void *ud, const char *p, size_t n)
{
    claw_events *s = ud;
    return claw_buf_add(&s->pending, p, n);
}

claw_events *claw_docker_events_open(claw_docker *d, const cJSON *filters, double since,
                                     double until, claw_err *err)
{
    claw_buf q;
    claw_buf_init(&q);
    claw_buf_str(&q, "/events?");
    if (since > 0)
        claw_buf_printf(&q, "since=%.3f&", since);
    if (until > 0)
        claw_buf_printf(&q, "until=%.3f&", until);
    claw_docker_add_filters(&q, "", filters);
    claw_events *s = calloc(1, sizeof *s);
    if (!s || claw_docker_stream_begin(d, q.data, &s->http, &s->req, &s->url, events_data, s,
                                       &s->resp, err) != 0) {
        free(s);
        s = NULL;
    }
    claw_buf_free(&q);
    return s;
}

int claw_docker_events_next(claw_events *s, double wait, cJSON **ev, int *ended,
                            claw_err *err)
{
    *ev = NULL;
    double end = claw_clock_monotonic() + (wait > 0 ? wait : 0);
    for (;;) {
        char *nl = s->pending.data ? memchr(s->pending.data, '\n', s->pending.len) : NULL;
        if (nl) {
            *nl = 0;
            *ev = cJSON_Parse(s->pending.data);
            claw_buf_drop(&s->pending, (size_t)(nl - s->pending.data) + 1);
            if (*ev)
                return 1;
            continue;
        }
        *ended = s->ended;
        double left = end - claw_clock_monotonic();
        if (s->ended || left <= 0)
            return 0;
        int done = 0;
        if (claw_http_step(s->http, left, &done, err) != 0)
            return -1;
        if (done) {
            s->ended = 1;
            if (s->resp.status >= 400)
                return claw_fail(err, CLAW_E_DAEMON, (int)s->resp.status,
                                 "the Docker daemon refused the event stream (status %ld)",
                                 s->resp.status);
        }
    }
}

void claw_docker_events_close(claw_events *s)
{
    if (!s)
        return;
    claw_http_resp_free(&s->resp);
    claw_http_free(s->http);
    claw_buf_free(&s->pending);
    free(s->url);
    free(s);
}
