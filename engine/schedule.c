#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cfg.h"
#include "clock.h"


static int parse_cron(const cJSON *o, claw_schedule *s, const char *file, const char *where,
                      claw_err *err)
{
    char at[240];
    snprintf(at, sizeof at, "%s.cron", where);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cron");
    if (!cJSON_IsString(c) || strlen(c->valuestring) >= sizeof s->expr)
        return claw_cfg_bad(err, file, at, "must be a cron expression (e.g. \"0 4 * * *\" or \"@every 6h\")");
    snprintf(s->expr, sizeof s->expr, "%s", c->valuestring);
    claw_err cerr;
    int64_t next;
    if (!(s->cron = claw_cron_parse(s->expr, &cerr)) ||
        claw_cron_next(s->cron, (int64_t)claw_clock_now(), &next, &cerr) != 0)
        return claw_cfg_bad(err, file, at, cerr.message);
    return 0;
}

static int parse_one(const cJSON *o, claw_schedule *s, const char *file, claw_err *err)
{
    static const char *const keys[] = { "cron", "policy", "args", "jitter", "timeout", NULL };
    char where[200], at[240];
    snprintf(where, sizeof where, "schedules.%.120s", o->string);
    /* Schedule names show in logs, labels and the history: the characters of a route's. */
    if (!claw_admin_name_ok(o->string, sizeof s->name))
        return claw_cfg_bad(err, file, where, "a schedule's name is " CLAW_NAME_RULE);
    if (strcmp(o->string, "update") == 0 || strcmp(o->string, "recover") == 0)
        return claw_cfg_bad(err, file, where,
                            "\"update\" and \"recover\" name the daemon's own runs; choose another name");
    snprintf(s->name, sizeof s->name, "%s", o->string);
    if (!cJSON_IsObject(o))
        return claw_cfg_bad(err, file, where, "must be a mapping with cron and policy");
    if (claw_cfg_only_keys(o, keys, file, where, err) != 0 || parse_cron(o, s, file, where, err) != 0)
        return -1;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "policy");
    snprintf(at, sizeof at, "%s.policy", where);
    if (!cJSON_IsString(p) || !*p->valuestring || strlen(p->valuestring) >= sizeof s->policy)
        return claw_cfg_bad(err, file, at, "must be the path of a policy");
    snprintf(s->policy, sizeof s->policy, "%s", p->valuestring);
    snprintf(at, sizeof at, "%s.args", where);
    if (!(s->args = claw_cfg_strings(cJSON_GetObjectItemCaseSensitive(o, "args"), 1)))
        return claw_cfg_bad(err, file, at, "must be a list of strings");
    snprintf(at, sizeof at, "%s.jitter", where);
    if (claw_cfg_seconds(cJSON_GetObjectItemCaseSensitive(o, "jitter"), 0, &s->jitter) != 0)
        return claw_cfg_bad(err, file, at, "must be seconds");
    snprintf(at, sizeof at, "%s.timeout", where);
    if (claw_cfg_seconds(cJSON_GetObjectItemCaseSensitive(o, "timeout"), 0, &s->timeout) != 0)
        return claw_cfg_bad(err, file, at, "must be seconds");
    return 0;
}

int claw_sched_parse(const cJSON *schedules, const char *file, claw_schedule **out, int *n,
                     claw_err *err)
{
    *out = NULL;
    *n = 0;
    if (!schedules || cJSON_IsNull(schedules))
        return 0;
    if (!cJSON_IsObject(schedules))
        return claw_cfg_bad(err, file, "schedules", "must be a mapping of schedule names to schedules");
    *out = calloc((size_t)cJSON_GetArraySize(schedules) + 1, sizeof **out);
    if (!*out)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    for (const cJSON *o = schedules->child; o; o = o->next) {
        if (parse_one(o, &(*out)[(*n)++], file, err) != 0) {
            claw_sched_free(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

void claw_sched_free(claw_schedule *s, int n)
{
    for (int i = 0; s && i < n; i++) {
        claw_cron_free(s[i].cron);
        cJSON_Delete(s[i].args);
    }
    free(s);
}

void claw_sched_plan(claw_schedule *s, double now, double jitter_frac)
{
    /* From the time just due, so that "@every 1h" stays an hour apart whatever the
     * jitter and the start took; from now only after a stall longer than the jitter
     * (a suspended machine): missed times are not made up. */
    int64_t from = s->due > (int64_t)floor(now - s->jitter) ? s->due : (int64_t)floor(now);
    if (claw_cron_next(s->cron, from, &s->due, NULL) != 0) {
        s->due = 0; /* no time left: it will not run again */
        s->start_at = 0;
        return;
    }
    s->start_at = (double)s->due + s->jitter * jitter_frac;
}

int claw_sched_upcoming(const claw_schedule *s, double after, int64_t *times, int n)
{
    int64_t t = (int64_t)floor(after);
    int k = 0;
    if (s->due > t) /* the time planned comes first: "@every" counts from it */
        times[k++] = t = s->due;
    while (k < n && claw_cron_next(s->cron, t, &t, NULL) == 0)
        times[k++] = t;
    return k;
}
