/* require "claw.cron": cron expressions (engine/cron.c).
 *
 *   local s = assert(cron.parse("CRON_TZ=Europe/Berlin 0 4 * * *"))
 *   local t = s:next()            -- the next due time, Unix seconds
 *   cron.next("@every 30m", t)    -- the same in one call
 */
#include <math.h>

#include "clock.h"
#include "cron.h"
#include "lclaw.h"

static const char CRON_MT[] = "claw.Cron";

typedef struct cron_ud {
    claw_cron *c; /* the expression's text is the user value, for __tostring */
} cron_ud;

static int cron_gc(lua_State *L)
{
    cron_ud *u = luaL_checkudata(L, 1, CRON_MT);
    claw_cron_free(u->c);
    u->c = NULL;
    return 0;
}

/* The time to count from: the argument at idx (seconds, fractions dropped), else now. */
static int64_t after_arg(lua_State *L, int idx)
{
    double t = luaL_opt(L, luaL_checknumber, idx, claw_clock_now());
    return (int64_t)floor(t);
}

static int push_next(lua_State *L, const claw_cron *c, int64_t after)
{
    int64_t t;
    claw_err e;
    if (claw_cron_next(c, after, &t, &e) != 0)
        return claw_pusherror(L, &e);
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

/* schedule:next([after]) -> the first due time after `after` (default now). */
static int cron_next(lua_State *L)
{
    cron_ud *u = luaL_checkudata(L, 1, CRON_MT);
    return push_next(L, u->c, after_arg(L, 2));
}

/* schedule:zone() -> the zone it is read in ("" for the process's own). */
static int cron_zone(lua_State *L)
{
    cron_ud *u = luaL_checkudata(L, 1, CRON_MT);
    lua_pushstring(L, claw_cron_zone(u->c));
    return 1;
}

static int cron_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, CRON_MT);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

/* cron.parse(expr) -> schedule, or nil, err naming the field and the reason. */
static int l_parse(lua_State *L)
{
    const char *expr = luaL_checkstring(L, 1);
    claw_err e;
    claw_cron *c = claw_cron_parse(expr, &e);
    if (!c)
        return claw_pusherror(L, &e);
    cron_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->c = c;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, CRON_MT);
    return 1;
}

/* cron.next(expr [, after]) -> the first due time after `after`, or nil, err. */
static int l_next(lua_State *L)
{
    const char *expr = luaL_checkstring(L, 1);
    int64_t after = after_arg(L, 2);
    claw_err e;
    claw_cron *c = claw_cron_parse(expr, &e);
    if (!c)
        return claw_pusherror(L, &e);
    int n = push_next(L, c, after);
    claw_cron_free(c);
    return n;
}

static const luaL_Reg funcs[] = {
    { "parse", l_parse },
    { "next", l_next },
    { NULL, NULL },
};

static const luaL_Reg methods[] = {
    { "next", cron_next },
    { "zone", cron_zone },
    { NULL, NULL },
};

int luaopen_claw_cron(lua_State *L)
{
    if (luaL_newmetatable(L, CRON_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, cron_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, cron_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    return 1;
}
