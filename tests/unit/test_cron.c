/* Cron expressions against tables of known answers: fields, names, steps, the day
 * rule, descriptors, zones and both daylight-saving transitions, and the errors. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "cron.h"

/* "2026-03-08T03:00:00-04:00" → Unix seconds. */
static int64_t iso(const char *s)
{
    struct tm tm = { 0 };
    int oh = 0, om = 0;
    char sign = '+';
    if (sscanf(s, "%d-%d-%dT%d:%d:%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &sign, &oh, &om) != 9) {
        fprintf(stderr, "bad test time %s\n", s);
        exit(2);
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t off = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
    return (int64_t)timegm(&tm) - off;
}

/* The next instant after `after` is `want`; then, when given, the one after it. */
static void due(const char *expr, const char *after, const char *want, const char *then)
{
    claw_err e = { 0 };
    claw_cron *c = claw_cron_parse(expr, &e);
    if (!c) {
        fprintf(stderr, "%s: %s\n", expr, e.message);
        CHECK(c != NULL);
        return;
    }
    int64_t t = 0;
    CHECK_INT(claw_cron_next(c, iso(after), &t, &e), 0);
    if (t != iso(want))
        fprintf(stderr, "%s after %s: want %s\n", expr, after, want);
    CHECK_INT(t, iso(want));
    if (then) {
        int64_t t2 = 0;
        CHECK_INT(claw_cron_next(c, t, &t2, &e), 0);
        if (t2 != iso(then))
            fprintf(stderr, "%s after %s: want %s\n", expr, want, then);
        CHECK_INT(t2, iso(then));
    }
    claw_cron_free(c);
}

static void refused(const char *expr, const char *message)
{
    claw_err e = { 0 };
    claw_cron *c = claw_cron_parse(expr, &e);
    CHECK(c == NULL);
    CHECK_STR(e.code, "invalid");
    CHECK_STR(e.message, message);
    claw_cron_free(c);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();

    /* Fields, lists, ranges, steps. */
    due("0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00+00:00", "2026-11-28T04:00:00+00:00");
    due("0 4 * * *", "2026-11-26T03:59:59+00:00", "2026-11-26T04:00:00+00:00", NULL);
    due("0 4 * * *", "2026-11-26T04:00:00+00:00", "2026-11-27T04:00:00+00:00", NULL);
    due("*/15 * * * *", "2026-11-26T10:07:30+00:00", "2026-11-26T10:15:00+00:00", "2026-11-26T10:30:00+00:00");
    due("5,35 * * * *", "2026-11-26T10:35:00+00:00", "2026-11-26T11:05:00+00:00", "2026-11-26T11:35:00+00:00");
    due("0 8-18/4 * * *", "2026-11-26T16:30:00+00:00", "2026-11-27T08:00:00+00:00", "2026-11-27T12:00:00+00:00");
    due("10/20 * * * *", "2026-11-26T10:00:00+00:00", "2026-11-26T10:10:00+00:00", "2026-11-26T10:30:00+00:00");
    due("59 23 31 12 *", "2026-11-26T00:00:00+00:00", "2026-12-31T23:59:00+00:00", "2027-12-31T23:59:00+00:00");
    due("0 0 29 2 *", "2026-03-01T00:00:00+00:00", "2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00");
    /* Six fields: seconds first, as Watchtower's --schedule. */
    due("0 0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00+00:00", NULL);
    due("*/10 * * * * *", "2026-11-26T10:00:05+00:00", "2026-11-26T10:00:10+00:00", "2026-11-26T10:00:20+00:00");
    due("30 59 23 * * *", "2026-11-26T23:59:31+00:00", "2026-11-27T23:59:30+00:00", NULL);
    /* Names, and 7 for Sunday. */
    due("0 9 * JAN-MAR MON-FRI", "2026-11-26T00:00:00+00:00", "2027-01-01T09:00:00+00:00", "2027-01-04T09:00:00+00:00");
    due("0 0 * * 7", "2026-11-26T00:00:00+00:00", "2026-11-29T00:00:00+00:00", "2026-12-06T00:00:00+00:00");
    due("0 0 * * sun", "2026-11-26T00:00:00+00:00", "2026-11-29T00:00:00+00:00", NULL);
    due("0 12 * nov,dec sat", "2026-11-26T00:00:00+00:00", "2026-11-28T12:00:00+00:00", NULL);
    /* Both day fields restricted: either matches (Friday, or the 13th, a Sunday). */
    due("0 0 13 * FRI", "2026-11-26T00:00:00+00:00", "2026-11-27T00:00:00+00:00", "2026-12-04T00:00:00+00:00");
    due("0 0 13 * FRI", "2026-12-11T00:00:00+00:00", "2026-12-13T00:00:00+00:00", "2026-12-18T00:00:00+00:00");
    due("0 0 1-7 * MON", "2026-11-26T00:00:00+00:00", "2026-11-30T00:00:00+00:00", "2026-12-01T00:00:00+00:00");
    /* One starts with *: both must match (a Monday that is the 1st, 8th, 15th...). */
    due("0 0 */7 * MON", "2026-11-26T00:00:00+00:00", "2027-02-01T00:00:00+00:00", "2027-02-08T00:00:00+00:00");
    due("0 0 ? * MON", "2026-11-26T00:00:00+00:00", "2026-11-30T00:00:00+00:00", NULL);
    /* Descriptors. */
    due("@hourly", "2026-11-26T10:00:00+00:00", "2026-11-26T11:00:00+00:00", NULL);
    due("@daily", "2026-11-26T10:00:00+00:00", "2026-11-27T00:00:00+00:00", NULL);
    due("@midnight", "2026-11-26T10:00:00+00:00", "2026-11-27T00:00:00+00:00", NULL);
    due("@weekly", "2026-11-26T10:00:00+00:00", "2026-11-29T00:00:00+00:00", NULL);
    due("@monthly", "2026-11-26T10:00:00+00:00", "2026-12-01T00:00:00+00:00", NULL);
    due("@yearly", "2026-11-26T10:00:00+00:00", "2027-01-01T00:00:00+00:00", NULL);
    due("@annually", "2026-11-26T10:00:00+00:00", "2027-01-01T00:00:00+00:00", NULL);
    due("@every 30m", "2026-11-26T10:00:07+00:00", "2026-11-26T10:30:07+00:00", "2026-11-26T11:00:07+00:00");
    due("@every 1h30m", "2026-11-26T10:00:00+00:00", "2026-11-26T11:30:00+00:00", NULL);
    due("@every 45s", "2026-11-26T10:00:00+00:00", "2026-11-26T10:00:45+00:00", NULL);

    /* Zones: the prefix, and the process's TZ. */
    due("CRON_TZ=Europe/Berlin 0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00+01:00", NULL);
    due("TZ=Asia/Kolkata 0 9 * * *", "2026-11-26T00:00:00+00:00", "2026-11-26T09:00:00+05:30", NULL);
    setenv("TZ", "America/New_York", 1);
    tzset();
    due("0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00-05:00", NULL);
    due("CRON_TZ=UTC 0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00+00:00", NULL);
    /* ...and the process's own zone is back after a zoned expression. */
    due("0 4 * * *", "2026-11-26T10:00:00+00:00", "2026-11-27T04:00:00-05:00", NULL);

    /* Spring forward (New York, 8 March 2026: 01:59:59 EST is followed by 03:00 EDT):
     * 02:30 does not exist that day, so it is not due that day. */
    due("30 2 * * *", "2026-03-07T12:00:00-05:00", "2026-03-09T02:30:00-04:00", NULL);
    due("0 * * * *", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00");
    due("0 3 * * *", "2026-03-07T12:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00");
    /* Fall back (1 November 2026: 01:59:59 EDT is followed by 01:00 EST): 01:30 happens
     * twice, and so does a run at 01:30. */
    due("30 1 * * *", "2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00");
    due("30 1 * * *", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00", NULL);
    due("*/30 * * * *", "2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00");
    due("0 2 * * *", "2026-11-01T00:00:00-04:00", "2026-11-01T02:00:00-05:00", NULL);
    /* Berlin, spring forward at 02:00 on 29 March 2026: 02:30 on the 29th next exists in 2027. */
    due("CRON_TZ=Europe/Berlin 30 2 29 3 *", "2026-03-01T00:00:00+01:00", "2027-03-29T02:30:00+02:00", NULL);
    due("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-03-28T12:00:00+01:00", "2026-03-30T02:30:00+02:00", NULL);
    /* Berlin, fall back at 03:00 on 25 October 2026. */
    due("CRON_TZ=Europe/Berlin 0 4 * * *", "2026-10-24T12:00:00+00:00", "2026-10-25T04:00:00+01:00", NULL);
    due("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-10-25T00:00:00+02:00", "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00");

    /* Refusals name the field and the reason. */
    refused("", "empty expression");
    refused("* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 4");
    refused("* * * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found 7");
    refused("0 25 * * *", "hour field \"25\": 25 is out of range 0-23");
    refused("60 * * * *", "minute field \"60\": 60 is out of range 0-59");
    refused("61 0 * * * *", "second field \"61\": 61 is out of range 0-59");
    refused("0 0 0 * *", "day-of-month field \"0\": 0 is out of range 1-31");
    refused("0 0 * 13 *", "month field \"13\": 13 is out of range 1-12");
    refused("0 0 * * 8", "day-of-week field \"8\": 8 is out of range 0-7");
    refused("0 0 * * MON-FOO", "day-of-week field \"MON-FOO\": \"FOO\" is not a number or a day name");
    refused("0 0 * JANUARY *", "month field \"JANUARY\": \"JANUARY\" is not a number or a month name");
    refused("x * * * *", "minute field \"x\": \"x\" is not a number");
    refused("*/0 * * * *", "minute field \"*/0\": the step must be at least 1");
    refused("*/ * * * *", "minute field \"*/\": the step must be at least 1");
    refused("*/a * * * *", "minute field \"*/a\": the step \"a\" is not a number");
    refused("5-2 * * * *", "minute field \"5-2\": the range 5-2 goes backwards");
    refused("1,,2 * * * *", "minute field \"1,,2\": a value is missing");
    refused("? * * * *", "minute field \"?\": ? is for the day fields only");
    refused("0 0 30 2 *",
            "day-of-month field \"30\": no such day in the months of the month field \"2\", so it would never be due");
    refused("@fortnightly",
            "unknown descriptor \"@fortnightly\" (known: @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight, @hourly, @every DURATION)");
    refused("@daily 5", "unknown descriptor \"@daily 5\" (known: @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight, @hourly, @every DURATION)");
    refused("@every", "@every needs a duration, such as 30m or 1h30m");
    refused("@every 0s", "@every \"0s\": the interval must be at least 1 s");
    refused("@every 5x", "@every \"5x\": \"x\" is not a unit (s, m or h)");
    refused("@every 5", "@every \"5\": a unit (s, m or h) must follow 5");
    refused("@every m", "@every \"m\": expected a number at \"m\"");
    refused("CRON_TZ=Mars/Base 0 4 * * *",
            "unknown time zone \"Mars/Base\" (expected an Area/City name of the system's zoneinfo, such as "
            "Europe/Berlin)");
    refused("CRON_TZ=../../etc/passwd 0 4 * * *",
            "unknown time zone \"../../etc/passwd\" (expected an Area/City name of the system's zoneinfo, such as "
            "Europe/Berlin)");
    refused("CRON_TZ=UTC", "empty expression");
    return check_done();
}
