#define _GNU_SOURCE
#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double claw_clock_now(void)
{
    return read_clock(CLOCK_REALTIME);
}

double claw_clock_monotonic(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

int claw_zone_known(const char *zone)
{
    if (!*zone || zone[0] == '/' || strstr(zone, ".."))
        return 0;
    for (const char *p = zone; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return 0;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    return access(path, R_OK) == 0;
}

void claw_zone_enter(claw_zone_switch *z, const char *zone)
{
    *z = (claw_zone_switch){ 0 };
    if (!zone || !*zone)
        return;
    const char *old = getenv("TZ");
    z->had = old != NULL;
    if (old)
        snprintf(z->saved, sizeof z->saved, "%s", old);
    setenv("TZ", zone, 1);
    tzset();
    z->active = 1;
}

void claw_zone_leave(claw_zone_switch *z)
{
    if (!z->active)
        return;
    if (z->had)
        setenv("TZ", z->saved, 1);
    else
        unsetenv("TZ");
    tzset();
    z->active = 0;
}
