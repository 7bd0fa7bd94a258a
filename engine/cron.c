/* Cron expressions. Parsing fills one bit set per field; claw_cron_next walks
 * forward from `after`, jumping over whole months, days, hours and minutes that
 * cannot match, and reads each candidate instant's wall-clock time in the
 * expression's zone with localtime_r (so the C library's zoneinfo reader does the
 * daylight-saving arithmetic). */
#define _GNU_SOURCE
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, NFIELDS };

static const struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] stands for lo + i; NULL: numbers only */
} fields[NFIELDS] = {
    [F_SEC] = { "second", 0, 59, NULL },
    [F_MIN] = { "minute", 0, 59, NULL },
    [F_HOUR] = { "hour", 0, 23, NULL },
    [F_DOM] = { "day-of-month", 1, 31, NULL },
    [F_MON] = { "month", 1, 12,
                (const char *const[]){ "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                                       "SEP", "OCT", "NOV", "DEC", NULL } },
    [F_DOW] = { "day-of-week", 0, 7,
                (const char *const[]){ "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL } },
};

struct claw_cron {
    uint64_t bits[NFIELDS];
    int dom_any, dow_any; /* the field began with * or ?: Vixie cron's day rule */
    int64_t every;        /* @every: seconds between runs; 0 for a calendar expression */
    char zone[128];
};

static const struct {
    const char *name, *expr;
} descriptors[] = {
    { "@yearly", "0 0 0 1 1 *" }, { "@annually", "0 0 0 1 1 *" }, { "@monthly", "0 0 0 1 * *" },
    { "@weekly", "0 0 0 * * 0" }, { "@daily", "0 0 0 * * *" },    { "@midnight", "0 0 0 * * *" },
    { "@hourly", "0 0 * * * *" },
};

static int field_fail(claw_err *err, int f, const char *text, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int field_fail(claw_err *err, int f, const char *text, size_t len, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return claw_fail(err, CLAW_E_INVALID, 0, "%s field \"%.*s\": %s", fields[f].name, (int)len,
                     text, why);
}

/* One value of field f from s[0..n): a number or a name. */
static int value(int f, const char *s, size_t n, const char *field, size_t flen, int *out,
                 claw_err *err)
{
    const struct field_def *d = &fields[f];
    if (n == 0)
        return field_fail(err, f, field, flen, "a value is missing");
    if (isdigit((unsigned char)s[0])) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]) || v > 1000)
                return field_fail(err, f, field, flen, "\"%.*s\" is not a number", (int)n, s);
            v = v * 10 + (s[i] - '0');
        }
        if (v < d->lo || v > d->hi)
            return field_fail(err, f, field, flen, "%d is out of range %d-%d", v, d->lo, d->hi);
        *out = v;
        return 0;
    }
    for (int i = 0; d->names && d->names[i]; i++) {
        if (n == 3 && strncasecmp(s, d->names[i], 3) == 0) {
            *out = d->lo + i;
            return 0;
        }
    }
    return field_fail(err, f, field, flen, "\"%.*s\" is not a number%s", (int)n, s,
                      f == F_MON ? " or a month name" : f == F_DOW ? " or a day name" : "");
}

/* One comma-separated item: *, ?, N, A-B, each optionally /STEP. */
static int item(int f, const char *s, size_t n, const char *field, size_t flen, uint64_t *bits,
                claw_err *err)
{
    const struct field_def *d = &fields[f];
    const char *slash = memchr(s, '/', n);
    size_t head = slash ? (size_t)(slash - s) : n;
    int lo, hi, step = 1;
    if (slash) {
        const char *st = slash + 1;
        size_t sn = n - head - 1;
        step = 0;
        for (size_t i = 0; i < sn; i++) {
            if (!isdigit((unsigned char)st[i]) || step > 1000)
                return field_fail(err, f, field, flen, "the step \"%.*s\" is not a number", (int)sn, st);
            step = step * 10 + (st[i] - '0');
        }
        if (sn == 0 || step < 1)
            return field_fail(err, f, field, flen, "the step must be at least 1");
    }
    if (head == 1 && (s[0] == '*' || s[0] == '?')) {
        if (s[0] == '?' && f != F_DOM && f != F_DOW)
            return field_fail(err, f, field, flen, "? is for the day fields only");
        lo = d->lo;
        hi = f == F_DOW ? 6 : d->hi;
    } else {
        const char *dash = memchr(s, '-', head);
        size_t an = dash ? (size_t)(dash - s) : head;
        if (value(f, s, an, field, flen, &lo, err) != 0)
            return -1;
        if (dash) {
            if (value(f, dash + 1, head - an - 1, field, flen, &hi, err) != 0)
                return -1;
            if (hi < lo)
                return field_fail(err, f, field, flen, "the range %.*s goes backwards", (int)head, s);
        } else {
            hi = slash ? (f == F_DOW ? 6 : d->hi) : lo; /* "5/15" means 5-max/15 */
        }
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ull << (f == F_DOW && v == 7 ? 0 : v); /* 7 is Sunday too */
    return 0;
}

static int field(claw_cron *c, int f, const char *s, size_t n, claw_err *err)
{
    const char *p = s, *end = s + n;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (item(f, p, (size_t)(stop - p), s, n, &c->bits[f], err) != 0)
            return -1;
        p = stop + 1;
    }
    if (f == F_DOM)
        c->dom_any = s[0] == '*' || s[0] == '?';
    if (f == F_DOW)
        c->dow_any = s[0] == '*' || s[0] == '?';
    return 0;
}

/* "1h30m", "90s", "2h": at least one number-unit pair. */
static int every(claw_cron *c, const char *s, claw_err *err)
{
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return claw_fail(err, CLAW_E_INVALID, 0, "@every needs a duration, such as 30m or 1h30m");
    while (*p) {
        int64_t v = 0;
        const char *num = p;
        while (isdigit((unsigned char)*p) && v < 100000000)
            v = v * 10 + (*p++ - '0');
        if (p == num)
            return claw_fail(err, CLAW_E_INVALID, 0, "@every \"%s\": expected a number at \"%s\"", s, p);
        int unit = *p == 's' ? 1 : *p == 'm' ? 60 : *p == 'h' ? 3600 : 0;
        if (!*p)
            return claw_fail(err, CLAW_E_INVALID, 0, "@every \"%s\": a unit (s, m or h) must follow %s",
                             s, num);
        if (!unit)
            return claw_fail(err, CLAW_E_INVALID, 0, "@every \"%s\": \"%c\" is not a unit (s, m or h)",
                             s, *p);
        total += v * unit;
        p++;
    }
    if (total < 1)
        return claw_fail(err, CLAW_E_INVALID, 0, "@every \"%s\": the interval must be at least 1 s", s);
    c->every = total;
    return 0;
}

/* A day-of-month that no allowed month has (30 February) would never be due. */
static int days_possible(const claw_cron *c)
{
    static const int max_days[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!c->dow_any)
        return 1; /* a weekday match is always possible */
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= max_days[m]; d++)
            if ((c->bits[F_MON] >> m & 1) && (c->bits[F_DOM] >> d & 1))
                return 1;
    return 0;
}

static int calendar(claw_cron *c, const char *s, claw_err *err)
{
    const char *start[NFIELDS + 1];
    size_t len[NFIELDS + 1];
    int n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *b = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n <= NFIELDS) {
            start[n] = b;
            len[n] = (size_t)(p - b);
        }
        n++;
    }
    if (n != 5 && n != 6)
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "expected 5 fields (minute hour day-of-month month day-of-week) "
                         "or 6 with seconds first, found %d",
                         n);
    int first = n == 5 ? F_MIN : F_SEC;
    if (n == 5)
        c->bits[F_SEC] = 1; /* second 0 */
    for (int f = first; f < NFIELDS; f++)
        if (field(c, f, start[f - first], len[f - first], err) != 0)
            return -1;
    if (!days_possible(c))
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "day-of-month field \"%.*s\": no such day in the months of the month field "
                         "\"%.*s\", so it would never be due",
                         (int)len[F_DOM - first], start[F_DOM - first], (int)len[F_MON - first],
                         start[F_MON - first]);
    return 0;
}

static int parse(claw_cron *c, const char *s, claw_err *err)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t tzlen = strncmp(s, "CRON_TZ=", 8) == 0 ? 8 : strncmp(s, "TZ=", 3) == 0 ? 3 : 0;
    if (tzlen) {
        s += tzlen;
        size_t zl = strcspn(s, " \t");
        if (zl >= sizeof c->zone)
            return claw_fail(err, CLAW_E_INVALID, 0, "the time zone name is too long");
        memcpy(c->zone, s, zl);
        c->zone[zl] = 0;
        if (!claw_zone_known(c->zone))
            return claw_fail(err, CLAW_E_INVALID, 0,
                             "unknown time zone \"%s\" (expected an Area/City name of the "
                             "system's zoneinfo, such as Europe/Berlin)",
                             c->zone);
        s += zl;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    if (!*s)
        return claw_fail(err, CLAW_E_INVALID, 0, "empty expression");
    if (*s != '@')
        return calendar(c, s, err);
    if (strncmp(s, "@every", 6) == 0 && (s[6] == ' ' || s[6] == '\t' || !s[6])) {
        s += 6;
        while (*s == ' ' || *s == '\t')
            s++;
        return every(c, s, err);
    }
    size_t n = strcspn(s, " \t");
    for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++)
        if (strlen(descriptors[i].name) == n && strncmp(s, descriptors[i].name, n) == 0 && !s[n])
            return calendar(c, descriptors[i].expr, err);
    return claw_fail(err, CLAW_E_INVALID, 0,
                     "unknown descriptor \"%s\" (known: @yearly, @annually, @monthly, @weekly, "
                     "@daily, @midnight, @hourly, @every DURATION)",
                     s);
}

claw_cron *claw_cron_parse(const char *expr, claw_err *err)
{
    claw_cron *c = calloc(1, sizeof *c);
    if (!c) {
        claw_fail(err, CLAW_E_INVALID, 0, "out of memory");
        return NULL;
    }
    if (parse(c, expr, err) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void claw_cron_free(claw_cron *c)
{
    free(c);
}

const char *claw_cron_zone(const claw_cron *c)
{
    return c->zone;
}

/* The smallest set bit >= from in bits, or -1. */
static int next_bit(uint64_t bits, int from, int hi)
{
    for (int v = from; v <= hi; v++)
        if (bits >> v & 1)
            return v;
    return -1;
}

/* The instant of a local time that mktime normalises (day 32 is the next month's
 * first), but never at or before t: a day or month change always moves forward. */
static int64_t local_start(struct tm tm, int64_t t)
{
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    time_t n = mktime(&tm);
    return n > t ? (int64_t)n : t + 1;
}

static int day_matches(const claw_cron *c, const struct tm *tm)
{
    int dom = c->bits[F_DOM] >> tm->tm_mday & 1, dow = c->bits[F_DOW] >> tm->tm_wday & 1;
    return c->dom_any || c->dow_any ? dom && dow : dom || dow;
}

static int64_t next_local(const claw_cron *c, int64_t after)
{
    int64_t t = after + 1, limit = after + (int64_t)8 * 366 * 86400;
    while (t <= limit) {
        struct tm tm;
        time_t tt = (time_t)t;
        localtime_r(&tt, &tm);
        if (!(c->bits[F_MON] >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            t = local_start(tm, t);
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            t = local_start(tm, t);
        } else if (!(c->bits[F_HOUR] >> tm.tm_hour & 1)) {
            t += 3600 - tm.tm_min * 60 - tm.tm_sec;
        } else if (!(c->bits[F_MIN] >> tm.tm_min & 1)) {
            int m = next_bit(c->bits[F_MIN], tm.tm_min, 59);
            t += m < 0 ? 3600 - tm.tm_min * 60 - tm.tm_sec : (m - tm.tm_min) * 60 - tm.tm_sec;
        } else {
            int s = next_bit(c->bits[F_SEC], tm.tm_sec, 59);
            if (s == tm.tm_sec)
                return t;
            t += s < 0 ? 60 - tm.tm_sec : s - tm.tm_sec;
        }
    }
    return -1;
}

int claw_cron_next(const claw_cron *c, int64_t after, int64_t *next, claw_err *err)
{
    if (c->every) {
        *next = after + c->every;
        return 0;
    }
    claw_zone_switch z;
    claw_zone_enter(&z, c->zone);
    int64_t t = next_local(c, after);
    claw_zone_leave(&z);
    if (t < 0)
        return claw_fail(err, CLAW_E_INVALID, 0, "the expression is not due within 8 years");
    *next = t;
    return 0;
}
