/* The daemon's counters and their Prometheus text exposition (format 0.0.4), for
 * GET /metrics (docs/http-api.md lists every metric). Counters live as long as the
 * daemon process, as Prometheus expects of a counter. */
#ifndef CLAW_METRICS_H
#define CLAW_METRICS_H

#include <cjson/cJSON.h>

#include "buf.h"

enum { CLAW_TRIGGER_API, CLAW_TRIGGER_SCHEDULE, CLAW_TRIGGERS };
enum { CLAW_UPDATE_SUCCEEDED, CLAW_UPDATE_FAILED, CLAW_UPDATE_ROLLED_BACK, CLAW_UPDATE_OUTCOMES };
enum { CLAW_CHECK_UP_TO_DATE, CLAW_CHECK_UPDATE_AVAILABLE, CLAW_CHECK_FAILED, CLAW_CHECK_OUTCOMES };

typedef struct claw_metrics {
    double start_time;                          /* Unix seconds */
    long long runs_started[CLAW_TRIGGERS];
    long long runs_finished[CLAW_TRIGGERS][256]; /* by exit code (128 + N: signal N) */
    long long runs_refused[CLAW_TRIGGERS];      /* could not be started */
    long long updates[CLAW_UPDATE_OUTCOMES];    /* from engine.report{kind="update"} */
    long long checks[CLAW_CHECK_OUTCOMES];      /* from engine.report{kind="check"} */
    long long reports_invalid;                  /* report lines the daemon could not use */
} claw_metrics;

/* What /metrics shows of one schedule. */
typedef struct claw_metrics_schedule {
    const char *name;
    long long skipped;
    double next;                                /* Unix seconds; 0: none */
    int running;
} claw_metrics_schedule;

/* Counts one engine.report record ({"kind","target","outcome"}); -1 when it is not
 * one the daemon knows (then it counts in reports_invalid). */
int claw_metrics_report(claw_metrics *m, const cJSON *record);
/* The index of a report's outcome among those of its kind ("update": succeeded,
 * failed, rolled_back; "check": up_to_date, update_available, failed), else -1. */
int claw_metrics_outcome(const char *kind, const char *outcome);

/* The exposition: m, the routes of claw_proxy_list(), the schedules. */
void claw_metrics_render(claw_buf *out, const claw_metrics *m, const cJSON *routes,
                         const claw_metrics_schedule *sched, int nsched, int runs_running);

/* A label value with \, " and newline escaped, appended to out. */
void claw_metrics_label(claw_buf *out, const char *value);

#endif
