#include "metrics.h"

#include <stdio.h>
#include <string.h>

static const char *const triggers[] = { "api", "schedule" };
static const char *const update_outcomes[] = { "succeeded", "failed", "rolled_back" };
static const char *const check_outcomes[] = { "up_to_date", "update_available", "failed" };

static int index_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int claw_metrics_outcome(const char *kind, const char *outcome)
{
    if (kind && strcmp(kind, "update") == 0)
        return index_of(update_outcomes, CLAW_UPDATE_OUTCOMES, outcome);
    if (kind && strcmp(kind, "check") == 0)
        return index_of(check_outcomes, CLAW_CHECK_OUTCOMES, outcome);
    return -1;
}

int claw_metrics_report(claw_metrics *m, const cJSON *rec)
{
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "kind"));
    const char *outcome = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "outcome"));
    int i = claw_metrics_outcome(kind, outcome);
    if (i < 0) {
        m->reports_invalid++;
        return -1;
    }
    (strcmp(kind, "update") == 0 ? m->updates : m->checks)[i]++;
    return 0;
}

void claw_metrics_label(claw_buf *out, const char *v)
{
    claw_buf_str(out, "\"");
    for (; v && *v; v++) {
        if (*v == '\\')
            claw_buf_str(out, "\\\\");
        else if (*v == '"')
            claw_buf_str(out, "\\\"");
        else if (*v == '\n')
            claw_buf_str(out, "\\n");
        else
            claw_buf_add(out, v, 1);
    }
    claw_buf_str(out, "\"");
}

static void family(claw_buf *out, const char *name, const char *type, const char *help)
{
    claw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; labels is NULL-terminated key, value pairs. */
static void sample(claw_buf *out, const char *name, const char *const *labels, double v)
{
    claw_buf_str(out, name);
    for (int i = 0; labels && labels[i]; i += 2) {
        claw_buf_printf(out, "%s%s=", i ? "," : "{", labels[i]);
        claw_metrics_label(out, labels[i + 1]);
    }
    claw_buf_printf(out, "%s %.17g\n", labels && labels[0] ? "}" : "", v);
}

static void run_metrics(claw_buf *out, const claw_metrics *m, int running)
{
    family(out, "clawengine_update_runs_started_total", "counter",
           "Policy runs the daemon started, by trigger (api: POST /v1/update; schedule).");
    for (int t = 0; t < CLAW_TRIGGERS; t++)
        sample(out, "clawengine_update_runs_started_total",
               (const char *[]){ "trigger", triggers[t], NULL }, (double)m->runs_started[t]);
    family(out, "clawengine_update_runs_finished_total", "counter",
           "Policy runs that ended, by trigger and exit code (128+N: killed by signal N).");
    for (int t = 0; t < CLAW_TRIGGERS; t++)
        for (int code = 0; code < 256; code++) {
            if (!m->runs_finished[t][code])
                continue;
            char c[8];
            snprintf(c, sizeof c, "%d", code);
            sample(out, "clawengine_update_runs_finished_total",
                   (const char *[]){ "trigger", triggers[t], "exit_code", c, NULL },
                   (double)m->runs_finished[t][code]);
        }
    family(out, "clawengine_update_runs_refused_total", "counter",
           "Policy runs that could not be started (missing policy file, no process).");
    for (int t = 0; t < CLAW_TRIGGERS; t++)
        sample(out, "clawengine_update_runs_refused_total",
               (const char *[]){ "trigger", triggers[t], NULL }, (double)m->runs_refused[t]);
    family(out, "clawengine_update_runs_running", "gauge", "Policy runs going on now.");
    sample(out, "clawengine_update_runs_running", NULL, running);
}

static void report_metrics(claw_buf *out, const claw_metrics *m)
{
    family(out, "clawengine_updates_total", "counter",
           "Container updates the policies reported, by outcome.");
    for (int i = 0; i < CLAW_UPDATE_OUTCOMES; i++)
        sample(out, "clawengine_updates_total",
               (const char *[]){ "outcome", update_outcomes[i], NULL }, (double)m->updates[i]);
    long long checks = 0;
    for (int i = 0; i < CLAW_CHECK_OUTCOMES; i++)
        checks += m->checks[i];
    family(out, "clawengine_checks_total", "counter", "Containers checked for an update.");
    sample(out, "clawengine_checks_total", NULL, (double)checks);
    family(out, "clawengine_updates_found_total", "counter",
           "Checks that found an update available.");
    sample(out, "clawengine_updates_found_total", NULL, (double)m->checks[CLAW_CHECK_UPDATE_AVAILABLE]);
    family(out, "clawengine_check_failures_total", "counter",
           "Checks that failed (registry unreachable, denied, ...).");
    sample(out, "clawengine_check_failures_total", NULL, (double)m->checks[CLAW_CHECK_FAILED]);
    family(out, "clawengine_reports_invalid_total", "counter",
           "Report lines from policies that the daemon could not use.");
    sample(out, "clawengine_reports_invalid_total", NULL, (double)m->reports_invalid);
}

static void schedule_metrics(claw_buf *out, const claw_metrics_schedule *s, int n)
{
    family(out, "clawengine_scheduled_runs_skipped_total", "counter",
           "Scheduled runs skipped because the schedule's previous run was still going.");
    for (int i = 0; i < n; i++)
        sample(out, "clawengine_scheduled_runs_skipped_total",
               (const char *[]){ "schedule", s[i].name, NULL }, (double)s[i].skipped);
    family(out, "clawengine_schedule_next_run_timestamp_seconds", "gauge",
           "When the schedule runs next (Unix time).");
    for (int i = 0; i < n; i++)
        if (s[i].next > 0)
            sample(out, "clawengine_schedule_next_run_timestamp_seconds",
                   (const char *[]){ "schedule", s[i].name, NULL }, s[i].next);
}

/* One family over every backend of every route: field is the proxy list's counter. */
static void backend_family(claw_buf *out, const cJSON *routes, const char *name,
                           const char *type, const char *help, const char *field)
{
    family(out, name, type, help);
    const cJSON *r, *b;
    cJSON_ArrayForEach(r, routes) {
        const char *route = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
        cJSON_ArrayForEach(b, cJSON_GetObjectItem(r, "backends")) {
            const char *be = cJSON_GetStringValue(cJSON_GetObjectItem(b, "container"));
            if (strcmp(field, "bytes") == 0) {
                sample(out, name, (const char *[]){ "route", route, "backend", be, "direction", "in", NULL },
                       cJSON_GetNumberValue(cJSON_GetObjectItem(b, "bytes_in")));
                sample(out, name, (const char *[]){ "route", route, "backend", be, "direction", "out", NULL },
                       cJSON_GetNumberValue(cJSON_GetObjectItem(b, "bytes_out")));
            } else {
                sample(out, name, (const char *[]){ "route", route, "backend", be, NULL },
                       cJSON_GetNumberValue(cJSON_GetObjectItem(b, field)));
            }
        }
    }
}

static void route_metrics(claw_buf *out, const cJSON *routes)
{
    backend_family(out, routes, "clawengine_route_connections_active", "gauge",
                   "Connections open now, per route and backend.", "active");
    backend_family(out, routes, "clawengine_route_connections_total", "counter",
                   "Connections sent to a backend (attempts included).", "total");
    backend_family(out, routes, "clawengine_route_connect_failures_total", "counter",
                   "Connection attempts a backend refused or did not accept in time.",
                   "connect_failures");
    backend_family(out, routes, "clawengine_route_resets_total", "counter",
                   "Connections a backend reset or failed during transfer.", "resets");
    backend_family(out, routes, "clawengine_route_bytes_total", "counter",
                   "Bytes forwarded: in, from clients to the backend; out, back.", "bytes");
    family(out, "clawengine_route_no_backend_total", "counter",
           "Connections closed because no backend of the route could take them.");
    const cJSON *r;
    cJSON_ArrayForEach(r, routes)
        sample(out, "clawengine_route_no_backend_total",
               (const char *[]){ "route", cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")), NULL },
               cJSON_GetNumberValue(cJSON_GetObjectItem(r, "no_backend")));
}

void claw_metrics_render(claw_buf *out, const claw_metrics *m, const cJSON *routes,
                         const claw_metrics_schedule *sched, int nsched, int runs_running)
{
    family(out, "clawengine_start_time_seconds", "gauge", "When the daemon started (Unix time).");
    sample(out, "clawengine_start_time_seconds", NULL, m->start_time);
    run_metrics(out, m, runs_running);
    report_metrics(out, m);
    schedule_metrics(out, sched, nsched);
    route_metrics(out, routes);
}
