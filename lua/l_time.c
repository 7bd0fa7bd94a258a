/* require "claw.time": wall clock, monotonic clock, interruptible sleep, formatting
 * and parsing of the RFC 3339 times Docker writes. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "lclaw.h"

static int l_now(lua_State *L)
{
    lua_pushnumber(L, claw_clock_now());
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, claw_clock_monotonic());
    return 1;
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    claw_rt *rt = claw_rt_get(L);
    if (claw_cancel_sleep(rt->cancel, s) != 0) {
        claw_err e;
        claw_fail(&e, CLAW_E_INTERRUPTED, 0, "interrupted");
        return claw_pusherror(L, &e);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* format(t [, fmt [, {utc=, zone=}]]): RFC 3339 in UTC by default (with the offset
 * when utc = false or a zone is given), else strftime in local time, or in `zone`
 * (an Area/City name). */
static int l_format(lua_State *L)
{
    double t = luaL_checknumber(L, 1);
    const char *fmt = luaL_optstring(L, 2, NULL);
    claw_checkopts(L, 3);
    const char *zone = claw_optstrfield(L, 3, "zone", NULL);
    int utc = claw_optboolfield(L, 3, "utc", fmt == NULL && !zone);
    if (zone && *zone && !claw_zone_known(zone))
        return luaL_argerror(L, 3, lua_pushfstring(L, "unknown time zone \"%s\"", zone));
    time_t secs = (time_t)floor(t);
    struct tm tm;
    if (utc) {
        gmtime_r(&secs, &tm);
    } else {
        claw_zone_switch z;
        claw_zone_enter(&z, zone);
        localtime_r(&secs, &tm);
        claw_zone_leave(&z);
    }
    char buf[256];
    /* The format is the caller's by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(buf, sizeof buf, fmt ? fmt : utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S%z", &tm);
#pragma GCC diagnostic pop
    if (!fmt && !utc && n == 24) { /* RFC 3339 writes the offset +hh:mm, strftime +hhmm */
        memmove(buf + 23, buf + 22, 2);
        buf[22] = ':';
        n = 25;
    }
    lua_pushlstring(L, buf, n);
    return 1;
}

/* parse("2026-11-26T12:15:47.123456789Z") -> seconds since the epoch. */
static int l_parse(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) {
        claw_err e;
        claw_fail(&e, CLAW_E_INVALID, 0, "not an RFC 3339 time: \"%s\"", s);
        return claw_pusherror(L, &e);
    }
    double frac = 0;
    if (*p == '.') {
        double scale = 0.1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    long offset = 0;
    int hh = 0, mm = 0;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%d:%d", &hh, &mm) == 2)
        offset = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    else if (*p != 'Z' && *p != 'z' && *p != 0) {
        claw_err e;
        claw_fail(&e, CLAW_E_INVALID, 0, "not an RFC 3339 time: \"%s\"", s);
        return claw_pusherror(L, &e);
    }
    lua_pushnumber(L, (double)timegm(&tm) - (double)offset + frac);
    return 1;
}

static const luaL_Reg funcs[] = {
    { "now", l_now },       { "monotonic", l_monotonic }, { "sleep", l_sleep },
    { "format", l_format }, { "parse", l_parse },         { NULL, NULL },
};

int luaopen_claw_time(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
