/* Cron expressions: when a schedule is due next.
 *
 * Forms: five fields "MIN HOUR DOM MON DOW" (standard cron), six with seconds first
 * "SEC MIN HOUR DOM MON DOW" (Watchtower's "0 0 4 * * *"), and the descriptors
 * @yearly @annually @monthly @weekly @daily @midnight @hourly and "@every DURATION"
 * (30s, 30m, 1h30m). Fields take *, ?, lists, ranges, steps (a-b/n, * /n, a/n), month
 * names JAN-DEC and day names SUN-SAT (7 is Sunday too). When both day fields are
 * restricted a day matches either (Vixie cron's rule).
 *
 * Time zone: a "CRON_TZ=Area/City " (or "TZ=") prefix, else the TZ of the process,
 * read from the system's zoneinfo. An instant is due when its wall-clock time in that
 * zone matches: a time skipped by a daylight-saving change does not occur that day,
 * and one repeated by it occurs twice (the behaviour of Watchtower's robfig/cron). */
#ifndef CLAW_CRON_H
#define CLAW_CRON_H

#include <stdint.h>

#include "err.h"

typedef struct claw_cron claw_cron;

/* Parses expr. On error returns NULL and err names the field and the reason, e.g.
 * `hour field "25": 25 is out of range 0-23`. */
claw_cron *claw_cron_parse(const char *expr, claw_err *err);
void claw_cron_free(claw_cron *c);

/* The first instant strictly after `after` (Unix seconds) that c names, in *next.
 * Returns -1 when none comes within 8 years (such as "0 0 30 2 *"). */
int claw_cron_next(const claw_cron *c, int64_t after, int64_t *next, claw_err *err);

/* The zone the expression is read in ("" for the process's own). */
const char *claw_cron_zone(const claw_cron *c);

#endif
