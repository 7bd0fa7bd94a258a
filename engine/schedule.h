/* The daemon's `schedules:` (docs/scheduling.md): when each named schedule is
 * due next. Running the policy, and skipping a run while the previous one of the
 * schedule is still going, are the daemon's (engine/runs.c). Times are Unix seconds;
 * a missed time (a suspended machine, a stalled loop) is not made up: the next one
 * is counted from now, as policies/scheduled.lua does. */
#ifndef CLAW_SCHEDULE_H
#define CLAW_SCHEDULE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "cron.h"
#include "err.h"

typedef struct claw_schedule {
    char name[128];
    char expr[512];
    claw_cron *cron;
    char policy[4096];
    cJSON *args;      /* array of strings */
    double jitter;    /* seconds: each run starts up to this much after its time */
    double timeout;   /* seconds for a run, then it is stopped; 0: none */
    /* state */
    int64_t due;      /* the next time the expression names */
    double start_at;  /* due + this run's jitter */
    long long skipped;
} claw_schedule;

/* Reads the `schedules` mapping (may be NULL: none). Errors name the schedule and
 * the field: `daemon.yml: schedules.nightly.cron: hour field "25": ...`. */
int claw_sched_parse(const cJSON *schedules, const char *file, claw_schedule **out, int *n,
                     claw_err *err);
void claw_sched_free(claw_schedule *s, int n);

/* Sets the next time: after the one just due (so "@every" keeps its interval), or
 * after `now` at the first plan and after a stall; jitter_frac in [0, 1) draws this
 * run's delay. */
void claw_sched_plan(claw_schedule *s, double now, double jitter_frac);
/* The next n times, from the one planned (fewer when the expression has no more). */
int claw_sched_upcoming(const claw_schedule *s, double after, int64_t *times, int n);

#endif
