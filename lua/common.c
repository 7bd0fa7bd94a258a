/* Helpers every binding file uses: the runtime context, errors and options. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "lclaw.h"

static const char RT_KEY[] = "claw.rt";
static const char ERROR_MT[] = "claw.Error";

void claw_rt_set(lua_State *L, claw_rt *rt)
{
    lua_pushlightuserdata(L, rt);
    lua_setfield(L, LUA_REGISTRYINDEX, RT_KEY);
}

claw_rt *claw_rt_get(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, RT_KEY);
    claw_rt *rt = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!rt)
        luaL_error(L, "clawengine runtime missing");
    return rt;
}

claw_docker *claw_rt_docker(lua_State *L)
{
    claw_rt *rt = claw_rt_get(L);
    if (!rt->docker) {
        claw_err e;
        rt->docker = claw_docker_new(rt->docker_host, rt->cancel, &e);
        if (!rt->docker)
            claw_throw(L, &e);
    }
    return rt->docker;
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    if (!lua_isstring(L, -1))
        lua_pushliteral(L, "error");
    return 1;
}

void claw_newerror(lua_State *L, const claw_err *e)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, e->code[0] ? e->code : "error");
    lua_setfield(L, -2, "code");
    lua_pushstring(L, e->message);
    lua_setfield(L, -2, "message");
    if (e->status) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    if (luaL_newmetatable(L, ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

int claw_throw(lua_State *L, const claw_err *e)
{
    if (strcmp(e->code, CLAW_E_INTERRUPTED) == 0)
        claw_cancel_consume(claw_rt_get(L)->cancel);
    claw_newerror(L, e);
    return lua_error(L);
}

int claw_pusherror(lua_State *L, const claw_err *e)
{
    if (strcmp(e->code, CLAW_E_INTERRUPTED) == 0)
        return claw_throw(L, e);
    lua_pushnil(L);
    claw_newerror(L, e);
    return 2;
}

int claw_raise(lua_State *L, const char *code, const char *fmt, ...)
{
    claw_err e;
    va_list ap;
    va_start(ap, fmt);
    claw_vfail(&e, code, 0, fmt, ap);
    va_end(ap);
    claw_newerror(L, &e);
    return lua_error(L);
}

void claw_checkopts(lua_State *L, int arg)
{
    if (!lua_isnoneornil(L, arg))
        luaL_checktype(L, arg, LUA_TTABLE);
}

/* Pushes opts[key] (nil when there are no options) and returns its type. */
static int getfield(lua_State *L, int arg, const char *key)
{
    if (lua_type(L, arg) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, arg, key);
}

static void field_error(lua_State *L, int arg, const char *key, const char *want)
{
    char msg[160];
    snprintf(msg, sizeof msg, "field '%s' must be %s, got %s", key, want,
             luaL_typename(L, -1));
    luaL_argerror(L, arg, msg);
}

double claw_optnumfield(lua_State *L, int arg, const char *key, double dflt)
{
    int t = getfield(L, arg, key);
    if (t != LUA_TNIL && t != LUA_TNUMBER)
        field_error(L, arg, key, "a number");
    double v = t == LUA_TNIL ? dflt : lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

int claw_optboolfield(lua_State *L, int arg, const char *key, int dflt)
{
    int t = getfield(L, arg, key);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        field_error(L, arg, key, "a boolean");
    int v = t == LUA_TNIL ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The string stays valid while the options table is on the stack. */
const char *claw_optstrfield(lua_State *L, int arg, const char *key, const char *dflt)
{
    int t = getfield(L, arg, key);
    if (t != LUA_TNIL && t != LUA_TSTRING)
        field_error(L, arg, key, "a string");
    const char *v = t == LUA_TNIL ? dflt : lua_tostring(L, -1);
    lua_pop(L, 1);
    return v;
}

int claw_dry(lua_State *L, const char *fmt, ...)
{
    claw_rt *rt = claw_rt_get(L);
    if (!rt->dry_run)
        return 0;
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    claw_log_printf(rt->log, CLAW_LOG_INFO, "dry-run: would %s", what);
    return 1;
}

int claw_admin_push(lua_State *L, int opts, cJSON *req, const char *field, double timeout)
{
    const char *path = claw_optstrfield(L, opts, "admin", claw_admin_default_path());
    cJSON *answer = NULL;
    claw_err e;
    int rc = claw_admin_call(path, req, timeout, claw_rt_get(L)->cancel, &answer, &e);
    cJSON_Delete(req);
    if (rc != 0)
        return claw_pusherror(L, &e);
    const cJSON *v = field ? cJSON_GetObjectItem(answer, field) : NULL;
    if (v)
        claw_pushjson(L, v);
    else
        lua_pushboolean(L, 1);
    cJSON_Delete(answer);
    return 1;
}
