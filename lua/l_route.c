/* require "claw.route": the daemon's routes, through its admin socket
 * (engine/admin.c). Options: { admin = "/path/admin.sock" } on every call, else
 * $CLAWENGINE_ADMIN, else /run/clawengine/admin.sock. */
#include <math.h>
#include <string.h>

#include "lclaw.h"

static cJSON *request(const char *op, const char *route, const char *container)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "op", op);
    if (route)
        cJSON_AddStringToObject(r, "route", route);
    if (container)
        cJSON_AddStringToObject(r, "container", container);
    return r;
}

/* In dry-run a change is logged, not made. */
static int dry(lua_State *L, const char *what, const char *route, const char *container)
{
    if (!claw_dry(L, "%s %s%s%s on the daemon", what, container ? container : "",
                  container ? " of route " : "route ", route))
        return 0;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_list(lua_State *L)
{
    claw_checkopts(L, 1);
    return claw_admin_push(L, 1, request("list", NULL, NULL), "routes", 30);
}

static int l_create(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *container = claw_optstrfield(L, 2, "container", NULL);
    double port = claw_optnumfield(L, 2, "port", 0);
    int sticky = claw_optboolfield(L, 2, "sticky", 0);
    if (!container)
        luaL_argerror(L, 2, "field 'container' is required");
    if (lua_getfield(L, 2, "listen") == LUA_TSTRING) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
    } else if (!lua_istable(L, -1)) {
        luaL_argerror(L, 2, "field 'listen' must be an address or a list of addresses");
    }
    cJSON *listen = claw_checkjson(L, lua_gettop(L));
    if (dry(L, "create", route, NULL)) {
        cJSON_Delete(listen);
        return 1;
    }
    cJSON *r = request("create", route, container);
    cJSON_AddItemToObject(r, "listen", listen);
    cJSON_AddNumberToObject(r, "port", port);
    cJSON_AddBoolToObject(r, "sticky", sticky);
    return claw_admin_push(L, 2, r, NULL, 30);
}

static int l_delete(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1);
    claw_checkopts(L, 2);
    return dry(L, "delete", route, NULL) ? 1 : claw_admin_push(L, 2, request("delete", route, NULL), NULL, 30);
}

/* Sends op with the number option `key` of argument `arg` when the caller gave one
 * (the daemon checks its range); the answer's `field` is returned (NULL: true). The
 * client waits 30 s for the answer when `wait` < 0; else the option's value plus
 * `wait`, or without a limit when the option is absent (a drain answers when it ends). */
static int with_number(lua_State *L, const char *op, const char *route, const char *container,
                       int arg, const char *key, const char *field, double wait)
{
    double v = claw_optnumfield(L, arg, key, NAN);
    if (dry(L, op, route, container))
        return 1;
    cJSON *r = request(op, route, container);
    if (!isnan(v))
        cJSON_AddNumberToObject(r, key, v);
    return claw_admin_push(L, arg, r, field, wait < 0 ? 30 : isnan(v) ? 0 : v + wait);
}

static int pause_op(lua_State *L, const char *op, const char *route, int all)
{
    const char *holder = claw_optstrfield(L, 2, "holder", NULL);
    double timeout = claw_optnumfield(L, 2, "timeout", NAN);
    if (dry(L, op, route, NULL))
        return 1;
    cJSON *r = request(op, route, NULL);
    if (holder)
        cJSON_AddStringToObject(r, "holder", holder);
    if (all)
        cJSON_AddBoolToObject(r, "all", 1);
    if (!isnan(timeout) && strcmp(op, "pause") == 0)
        cJSON_AddNumberToObject(r, "timeout", timeout);
    return claw_admin_push(L, 2, r, "pauses", 30);
}

static int l_add(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1), *container = luaL_checkstring(L, 2);
    claw_checkopts(L, 3);
    return with_number(L, "add", route, container, 3, "weight", NULL, -1);
}

static int l_weight(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    claw_checkopts(L, 3);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isinteger(L, -1))
            luaL_argerror(L, 2, "must map container names to integer percentages");
        lua_pop(L, 1);
    }
    int sticky = lua_type(L, 3) == LUA_TTABLE ? claw_optboolfield(L, 3, "sticky", -1) : -1;
    if (dry(L, "set weights of", route, NULL))
        return 1;
    cJSON *r = request("weight", route, NULL);
    cJSON_AddItemToObject(r, "weights", claw_checkjson(L, 2));
    if (sticky >= 0)
        cJSON_AddBoolToObject(r, "sticky", sticky);
    return claw_admin_push(L, 3, r, NULL, 30);
}

static int simple(lua_State *L, const char *op)
{
    const char *route = luaL_checkstring(L, 1), *container = luaL_checkstring(L, 2);
    claw_checkopts(L, 3);
    return dry(L, op, route, container) ? 1 : claw_admin_push(L, 3, request(op, route, container), NULL, 30);
}

static int l_switch(lua_State *L) { return simple(L, "switch"); }

/* rename(route, container, to): the container was renamed; its connections stay. */
static int l_rename(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1), *container = luaL_checkstring(L, 2);
    const char *to = luaL_checkstring(L, 3);
    claw_checkopts(L, 4);
    if (dry(L, "rename", route, container))
        return 1;
    cJSON *r = request("rename", route, container);
    cJSON_AddStringToObject(r, "to", to);
    return claw_admin_push(L, 4, r, NULL, 30);
}
static int l_remove(lua_State *L) { return simple(L, "remove"); }

/* pause(route, {timeout=, holder=}): new connections wait until the resume of each
 * pause (or its timeout); returns how many pauses the route has now */
static int l_pause(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1);
    claw_checkopts(L, 2);
    return pause_op(L, "pause", route, 0);
}

/* resume(route, {holder=, all=}): ends that holder's pause (all: every one); returns
 * how many are left */
static int l_resume(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1);
    claw_checkopts(L, 2);
    return pause_op(L, "resume", route, claw_optboolfield(L, 2, "all", 0));
}

static int l_drain(lua_State *L)
{
    const char *route = luaL_checkstring(L, 1), *container = luaL_checkstring(L, 2);
    claw_checkopts(L, 3);
    return with_number(L, "drain", route, container, 3, "timeout", "forced", 30);
}

static const luaL_Reg funcs[] = {
    { "list", l_list },     { "create", l_create }, { "delete", l_delete },
    { "add", l_add },       { "weight", l_weight }, { "switch", l_switch },
    { "drain", l_drain },   { "remove", l_remove }, { "rename", l_rename },
    { "pause", l_pause },   { "resume", l_resume }, { NULL, NULL },
};

int luaopen_claw_route(lua_State *L)
{
    luaL_newlib(L, funcs);
    return 1;
}
